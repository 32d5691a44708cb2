// switchboard-subscribe-example [URL] [TOPIC] [SINCE EPOCH]
//
//     swift run switchboard-subscribe-example http://127.0.0.1:8080 stocks.AAPL
//
// Prints a topic's events, and after each the position to resume from. Dropped connections are
// resumed by the client with no loss; after a restart, pass the last position printed and it
// prints exactly the events it missed, or says which ones it can no longer get. A token comes
// from $SWITCHBOARD_TOKEN when the broker needs one. The README shows this file from here on.
import Foundation
import SwitchboardClient

let args = Array(CommandLine.arguments.dropFirst()) + ["", "", "", ""]
let client = SwitchboardClient(url: URL(string: args[0].isEmpty ? "http://127.0.0.1:8080" : args[0])!,
                               token: ProcessInfo.processInfo.environment["SWITCHBOARD_TOKEN"])
let subscription = client.subscribe(args[1].isEmpty ? "stocks.AAPL" : args[1], since: UInt64(args[2]), epoch: args[3])
for try await item in subscription {
    switch item {
    case .event(let event): print("#\(event.seq) \(event.text ?? "\(event.bytes.count) bytes")")
    case .gap(let gap): print("events \(gap.from)...\(gap.to) are lost")
    case .reset(let reset): print("new epoch \(reset.epoch): earlier events are void")
    case .deleted(let topic): print("\(topic) was deleted")
    }
    print("  resume with: \(subscription.position.seq ?? 0) \(subscription.position.epoch ?? "")")
}
