import Foundation

/// An IPv4 address and port to open plain blocking TCP connections to (loopback, so a connect
/// is answered at once).
struct IPv4Address {
    private var address = sockaddr_in()

    /// Resolves `host` (a dotted quad or a name such as `localhost`) to its first IPv4 address.
    init(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list, let found = first.pointee.ai_addr else {
            throw WebSocketHandshakeError("cannot resolve \(host) to an IPv4 address")
        }
        defer { freeaddrinfo(list) }
        address = found.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
    }

    /// A connected blocking socket, or minus errno.
    func connect() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -errno }
        var address = self.address
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            return -error
        }
        return fd
    }
}
