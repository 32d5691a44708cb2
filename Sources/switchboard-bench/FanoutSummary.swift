import Foundation

/// CPU seconds used so far by this tool and the broker, with the time they were read.
struct CPUSample {
    /// When it was read.
    var at = ContinuousClock.now
    /// This process's user + system seconds.
    var bench = cpuSeconds(pid: getpid())
    /// The broker's, when its pid is known.
    var broker: Double?
    /// Seconds each has waited for its core so far (behind its own threads or anyone else's).
    var benchWait = runQueueWaitSeconds(pid: getpid()), brokerWait: Double?
    /// Busy CPU seconds of the whole machine so far.
    var machine = machineBusySeconds()

    /// Reads both now.
    init(brokerPID: Int32?) {
        broker = brokerPID.flatMap { cpuSeconds(pid: $0) }
        brokerWait = brokerPID.flatMap { runQueueWaitSeconds(pid: $0) }
    }

    /// How busy each process was between `earlier` and this sample.
    func since(_ earlier: CPUSample) -> CPUUse {
        let wall = max((at - earlier.at).seconds, 1e-9)
        let brokerSeconds = zip2(broker, earlier.broker).map { $0 - $1 }
        return CPUUse(
            wall: wall, benchShare: zip2(bench, earlier.bench).map { ($0 - $1) / wall }, brokerSeconds: brokerSeconds,
            benchWaitShare: zip2(benchWait, earlier.benchWait).map { ($0 - $1) / wall },
            brokerWaitShare: zip2(brokerWait, earlier.brokerWait).map { ($0 - $1) / wall },
            otherShare: zip2(machine, earlier.machine).map { total in
                (total.0 - total.1 - (zip2(bench, earlier.bench).map { $0 - $1 } ?? 0) - (brokerSeconds ?? 0)) / wall
            }
        )
    }
}

/// Share of one core each process used over a wall-clock interval.
struct CPUUse {
    /// The interval, seconds.
    var wall: Double
    /// This tool's CPU seconds per second (1.0: one core fully busy).
    var benchShare: Double?
    /// The broker's CPU seconds in the interval.
    var brokerSeconds: Double?
    /// Share of the interval each spent ready but waiting for a core (its own other threads, or others, ran there).
    var benchWaitShare: Double?, brokerWaitShare: Double?
    /// Cores' worth of CPU that neither used in the interval: other processes (a build, another
    /// benchmark) and interrupt time charged to no process. Near 0 on a quiet machine.
    var otherShare: Double?

    /// Above this share of a core the tool may be measuring itself.
    static let bottleneckShare = 0.9
}

/// Whether a run measured the broker: the fixed rate was held and the tool had CPU to spare.
struct RunValidity {
    /// A fixed-rate run is invalid when it published more than this share under the asked rate.
    static let rateShortfall = 0.02
    /// Why the run is not a valid measurement; empty when it is.
    var reasons: [String] = []

    /// Judges a run that asked for `rate` (0: as fast as possible) and sent at `achieved`
    /// events/s, `backlog` of them at most waiting for a free publisher connection, while the
    /// tool used `benchShare` of its core and the broker `brokerShare` of its own.
    init(rate: Int, achieved: Double?, backlog: Int, benchShare: Double?, brokerShare: Double?) {
        if rate > 0, (achieved ?? 0) < Double(rate) * (1 - Self.rateShortfall) {
            let sent = achieved.map { String(format: "%.1f", $0) } ?? "?"
            reasons.append("the fixed rate was not held: \(sent)/s of \(rate)/s")
        }
        if rate > 0, backlog > 0 {
            reasons.append("up to \(backlog) due events waited for a free publisher connection (raise --publishers)")
        }
        if let benchShare, benchShare > CPUUse.bottleneckShare {
            reasons.append("the load tool used \(Int((benchShare * 100).rounded()))% of its core")
        }
        // Why the rate was not held, when the broker had no CPU left to answer publishes faster.
        if rate > 0, !reasons.isEmpty, let brokerShare, brokerShare >= 0.95 {
            reasons.append("the broker used \(Int((brokerShare * 100).rounded()))% of its core (saturated at this rate)")
        }
    }

    /// No reason to doubt the figures.
    var isValid: Bool { reasons.isEmpty }
}

/// The result of one fan-out run: a JSON line for scripts and a table for people.
struct FanoutSummary {
    /// Every field, by its JSON key.
    private(set) var fields: [String: Any] = [:]
    /// No loss, no repeat, no reordering, every subscriber subscribed.
    let clean: Bool

    /// Summarises a run of `command`.
    init(command: FanoutCommand, subscribers: Int, subscribeFailed: Int, connectSeconds: Double,
         published: PublishDriver.Counts, expected: Int, counts: DeliveryCounts, cpu: CPUUse) {
        let seconds = max(Double(counts.lastDelivery - published.firstSend) / 1e6, 1e-6)
        let publishSeconds = max(Double(published.lastAnswer - published.firstSend) / 1e6, 1e-6)
        let lost = expected - counts.delivered
        func ms(_ percentile: Double) -> Double { Double(counts.latency.valueAtPercentile(percentile)) / 1000 }
        let validity = RunValidity(
            rate: command.load.rate, achieved: published.sendRate, backlog: published.maxBacklog,
            benchShare: cpu.benchShare, brokerShare: cpu.brokerSeconds.map { $0 / cpu.wall }
        )
        fields = [
            "target": command.load.target.rawValue, "stream": command.load.stream.rawValue,
            "compression": command.load.compression.rawValue, "subscribers": subscribers, "subscribe_failed": subscribeFailed,
            "publishers": command.publishers, "rate": command.load.rate, "events": published.acked,
            "publish_errors": published.errors, "publish_backlog_max": published.maxBacklog, "publish_reconnects": published.reconnects,
            "expected": expected, "delivered": counts.delivered, "lost": lost, "duplicates": counts.duplicates,
            "out_of_order": counts.outOfOrder, "gaps": counts.gaps, "seq_errors": counts.seqErrors,
            "frames": counts.frames, "events_per_frame": Double(counts.delivered) / Double(max(counts.frames, 1)),
            "unstamped": counts.unstamped, "malformed": counts.malformed, "closed_by_broker": counts.closedByBroker,
            "connect_seconds": connectSeconds, "seconds": seconds, "delivered_per_second": Double(counts.delivered) / seconds,
            "publishes_per_second": Double(published.acked) / publishSeconds,
            "publish_rate_achieved": published.sendRate ?? 0, "publish_in_flight_max": published.maxInFlight,
            "publish_send_lag_ms_p99": Double(published.sendLag.valueAtPercentile(99)) / 1000,
            "publish_send_lag_ms_max": Double(published.sendLag.max) / 1000,
            "valid": validity.isValid, "invalid_reasons": validity.reasons,
            "latency_ms_p50": ms(50), "latency_ms_p90": ms(90), "latency_ms_p99": ms(99), "latency_ms_p999": ms(99.9),
            "latency_ms_max": Double(counts.latency.max) / 1000, "latency_samples": Int(counts.latency.totalCount),
            "publish_answer_ms_p50": Double(published.answerTime.valueAtPercentile(50)) / 1000,
            "publish_answer_ms_p99": Double(published.answerTime.valueAtPercentile(99)) / 1000,
            "latency_from": command.load.rate > 0 ? "due" : "sent",
            "cpu_window_seconds": cpu.wall, "read_batch_bytes": command.readBatchBytes,
        ]
        if let share = cpu.benchShare {
            fields["bench_cpu_share"] = share
            fields["bench_bottleneck"] = share > CPUUse.bottleneckShare
        }
        if let share = cpu.benchWaitShare { fields["bench_runqueue_share"] = share }
        if let share = cpu.brokerWaitShare { fields["broker_runqueue_share"] = share }
        if let share = cpu.otherShare { fields["other_cpu_share"] = share }
        if let brokerSeconds = cpu.brokerSeconds {
            fields["broker_cpu_seconds"] = brokerSeconds
            fields["broker_cpu_share"] = brokerSeconds / cpu.wall
            fields["broker_cpu_us_per_delivered_event"] = brokerSeconds * 1e6 / Double(max(counts.delivered, 1))
        }
        clean = lost == 0 && counts.duplicates == 0 && counts.outOfOrder == 0 && counts.seqErrors == 0
            && counts.malformed == 0 && subscribeFailed == 0
    }

    /// Prints the JSON object on stdout and the table (and any warning) on stderr.
    func print() throws {
        let json = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        emit(String(decoding: json, as: UTF8.self))
        warn(table)
        if let reasons = fields["invalid_reasons"] as? [String], !reasons.isEmpty {
            warn("warning: NOT A VALID MEASUREMENT of the broker: " + reasons.joined(separator: "; "))
        }
    }

    /// The human-readable table.
    var table: String {
        func int(_ key: String) -> String { (fields[key] as? Int).map { $0.formatted() } ?? "-" }
        func num(_ key: String, _ digits: Int = 1) -> String { (fields[key] as? Double).map { String(format: "%.\(digits)f", $0) } ?? "-" }
        func pct(_ key: String) -> String { (fields[key] as? Double).map { "\(Int(($0 * 100).rounded()))%" } ?? "-" }
        let rate = (fields["rate"] as? Int) == 0 ? "max" : "\(int("rate"))/s"
        let rows: [(String, String)] = [
            ("run", "\(fields["target"]!) · \(int("subscribers")) subscribers · \(int("publishers")) publishers · rate \(rate) · \(fields["compression"]!)"),
            ("events published", "\(int("events")) (\(int("publish_errors")) refused) · sent at \(num("publish_rate_achieved", 1))/s · answered in p50 \(num("publish_answer_ms_p50", 2)) ms, p99 \(num("publish_answer_ms_p99", 2)) ms"),
            ("publishes in flight", "max \(int("publish_in_flight_max")) of \(int("publishers")) · waited for a connection: backlog max \(int("publish_backlog_max")) · sent late by p99 \(num("publish_send_lag_ms_p99", 2)) ms, max \(num("publish_send_lag_ms_max", 2)) ms"),
            ("deliveries", "\(int("delivered")) of \(int("expected")) · lost \(int("lost")) · duplicates \(int("duplicates")) · out of order \(int("out_of_order")) · gaps \(int("gaps"))"),
            ("deliveries/s", "\(num("delivered_per_second", 0)) over \(num("seconds", 2)) s · \(num("events_per_frame", 2)) events/frame"),
            ("latency ms", "p50 \(num("latency_ms_p50", 2)) · p90 \(num("latency_ms_p90", 2)) · p99 \(num("latency_ms_p99", 2)) · p99.9 \(num("latency_ms_p999", 2)) · max \(num("latency_ms_max", 2))"),
            ("CPU (of one core)", "bench \(pct("bench_cpu_share")) · broker \(pct("broker_cpu_share")) · broker µs/delivery \(num("broker_cpu_us_per_delivered_event", 2))"),
            ("waited for a core", "bench \(pct("bench_runqueue_share")) · broker \(pct("broker_runqueue_share")) (its own other threads or another process ran there) · CPU of everything else \(pct("other_cpu_share"))"),
            ("valid", (fields["valid"] as? Bool) == true ? "yes" : "NO: " + ((fields["invalid_reasons"] as? [String]) ?? []).joined(separator: "; ")),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + " | " + $0.1 }.joined(separator: "\n")
    }
}
