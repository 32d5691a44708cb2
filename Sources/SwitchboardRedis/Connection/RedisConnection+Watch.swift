import Logging

extension RedisConnection {
    /// Returns once the connection has closed. Meanwhile, with an interval, sends `PING` whenever
    /// that much time has passed, and closes the connection when a `PING` gets no answer within the
    /// command timeout: a server gone without a TCP reset (a dead host, a dropped route) is noticed
    /// in seconds, not when TCP gives up hours later. Cancelling the caller closes the connection.
    func watch(healthCheckInterval: Duration?, logger: Logger) async {
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await self.closeFuture.get() }
                if let interval = healthCheckInterval {
                    group.addTask { await self.pingUntilSilent(every: interval, logger: logger) }
                }
                await group.next()
                group.cancelAll()
            }
        } onCancel: {
            self.channel.close(promise: nil)
        }
    }

    private func pingUntilSilent(every interval: Duration, logger: Logger) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            do {
                try await send(["PING"])
            } catch where error == .timeout {
                logger.warning("Redis did not answer PING in time; closing the connection to reconnect")
                channel.close(promise: nil)
                return
            } catch {
                return
            }
        }
    }
}
