# RSS per connection of a running broker: N connections that each send one request (a
# keep-alive GET /healthz, or a poll that waits) and stay open; the delta of VmRSS over N.
# Usage: python3 bench/connection-memory.py BROKER_PID PORT N PATH   (start the broker fresh each time)
import socket, sys, time, os, resource
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
pid, port, n, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])
before = rss(); socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    if path == "/healthz": s.recv(4096)
    socks.append(s)
time.sleep(2)
after = rss()
print(path, "KB per connection:", round((after - before) / n, 2))
