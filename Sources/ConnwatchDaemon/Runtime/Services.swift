import ConnwatchAlerting
import ConnwatchCore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the check scheduler; on graceful shutdown (SIGTERM) says STOPPING=1, stops taking
/// new work and lets the checks in flight finish (bounded by the group's shutdown limit).
struct SchedulerService: Service {
    let scheduler: CheckScheduler<ContinuousClock>
    let notifier: SystemdNotifier

    func run() async throws {
        await withGracefulShutdownHandler {
            await scheduler.run()
        } onGracefulShutdown: {
            notifier.notify(["STOPPING=1", "STATUS=stopping: finishing the checks in flight"])
            Task { await scheduler.drain() }
        }
    }
}

/// The daemon's pulse: READY=1 once everything runs, WATCHDOG=1 at half of
/// `WATCHDOG_USEC` — from a loop that asks the scheduler actor first, so a stuck
/// scheduler stops the pings —, the STATUS= line, batched commits, daily retention.
struct HeartbeatService: Service {
    let daemon: Daemon
    let scheduler: CheckScheduler<ContinuousClock>
    /// READY=1 waits for the control socket: `systemctl start` returns when connwatchctl works.
    var controlReady: ControlReadiness?

    func run() async throws {
        await controlReady?.wait()
        let notifier = daemon.notifier
        let watchdog = notifier.watchdogInterval()
        let tick = min(watchdog.map { $0 / 2 } ?? .seconds(1), .seconds(1))
        notifier.notify(["READY=1", "STATUS=\(await statusLine())"])
        var lastPrune = Date.distantPast
        var lastStatus = ContinuousClock.now
        var lastIdleObservers = ContinuousClock.now - .seconds(60)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { break }
            _ = await scheduler.inFlight  // the scheduler actor answers: it is alive
            if watchdog != nil { notifier.notify(["WATCHDOG=1"]) }
            let now = daemon.clock.now()
            await daemon.coordinator.flush(now: now)
            // Observers of tenants without connectors, off the heartbeat's path (a pass may
            // take a while; the monitor serves one pass per check interval).
            if ContinuousClock.now - lastIdleObservers >= .seconds(60) {
                lastIdleObservers = .now
                Task { [daemon] in await daemon.observeTenantsWithoutConnectors() }
            }
            if ContinuousClock.now - lastStatus >= .seconds(5) {
                notifier.notify(["STATUS=\(await statusLine())"])
                lastStatus = .now
            }
            if now.timeIntervalSince(lastPrune) >= 86400 {
                lastPrune = now
                _ = try? await daemon.store.prune(now: now, retention: daemon.configuration.daemon.historyRetention)
            }
        }
    }

    /// "12 connectors: 9 ok, 2 warning, 1 critical; next check 14:05"
    func statusLine() async -> String {
        let report = await daemon.coordinator.status(version: Daemon.version)
        var line = report.countsLine
        if let observers = report.observers, !observers.isEmpty {
            let bad = observers.filter { $0.status != .ok }.count
            line += "; \(observers.count) observer\(observers.count == 1 ? "" : "s")" + (bad == 0 ? " ok" : ", \(bad) not ok")
        }
        if let next = await scheduler.nextDueInstant() {
            let wait = ContinuousClock.now.duration(to: next)
            let at = daemon.clock.now().addingTimeInterval(max(0, Double(wait.components.seconds)))
            let f = DateFormatter()
            f.dateFormat = "HH:mm"
            line += "; next check \(f.string(from: at))"
        }
        return line
    }
}

/// Sends the webhook outbox. On SIGTERM it stops claiming; sends in flight finish within
/// the group's shutdown limit, or their lease runs out and the next start sends them again
/// under the same `webhook-id`.
struct DeliveryService: Service {
    let worker: DeliveryWorker

    func run() async throws {
        await withGracefulShutdownHandler {
            await worker.run(keepGoing: { !Task.isShuttingDownGracefully })
        } onGracefulShutdown: {
            Task { await worker.wake() }
        }
    }
}

/// Sends digests on their schedule. On SIGTERM it stops; a digest being sent either
/// finishes within the group's shutdown limit or its lease runs out and the next start
/// sends it again under the same Message-ID.
struct DigestService: Service {
    let worker: DigestWorker

    func run() async throws {
        await withGracefulShutdownHandler {
            await worker.run(keepGoing: { !Task.isShuttingDownGracefully })
        } onGracefulShutdown: {
            Task { await worker.wake() }
        }
    }
}

/// SIGHUP → reload, the same path as `connwatchctl reload`.
struct ReloadService: Service {
    let daemon: Daemon
    let scheduler: CheckScheduler<ContinuousClock>

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await daemon.reload(scheduler: scheduler)
        }
    }
}

extension Daemon {
    /// Runs until SIGTERM/SIGINT: scheduler, heartbeat, reload, control socket; then drains
    /// and closes. Refuses to run when another daemon serves the control socket.
    public func runForever() async throws {
        let c = configuration
        let now = clock.now()
        let snapshot = try? await store.loadState()
        var last: [String: ContinuousClock.Instant] = [:]
        let clockNow = ContinuousClock.now
        for (key, latest) in snapshot?.latest ?? [:] {
            let age = now.timeIntervalSince(latest.result.checkedAt)
            let instant = clockNow.advanced(by: .seconds(-max(0, age)))
            if let existing = last[key.connector] {
                last[key.connector] = min(existing, instant)
            } else {
                last[key.connector] = instant
            }
        }
        // Every observer reads its tenant now, side by side, as `--once` does: connectors
        // due at start would otherwise fill the concurrency slots waiting for one tenant's
        // pass (paced by Graph's reports limit) and read the tenants one after another.
        let monitors = Array(observers.all.values)
        Task {
            await withTaskGroup(of: Void.self) { group in
                for monitor in monitors { group.addTask { _ = await monitor.observation() } }
            }
        }
        let scheduler = CheckScheduler(
            clock: ContinuousClock(), interval: c.daemon.checkInterval.swiftDuration, concurrency: c.daemon.concurrency,
            connectors: c.connectors, lastChecked: last, job: { [self] connector in await self.check(connector) })
        let claim: ControlSocketClaim
        if let early = socketClaim {
            claim = early
        } else {
            do {
                claim = try ControlSocketClaim.claim(
                    path: ControlSocketClaim.path(settings: c.daemon, environment: options.environment))
            } catch {
                logger.critical("\(error)")
                await shutdown()
                throw error
            }
        }
        let controlReady = ControlReadiness()
        var config = ServiceGroupConfiguration(
            services: [
                .init(service: SchedulerService(scheduler: scheduler, notifier: notifier)),
                .init(service: HeartbeatService(daemon: self, scheduler: scheduler, controlReady: controlReady)),
                .init(service: ReloadService(daemon: self, scheduler: scheduler)),
                .init(service: DeliveryService(worker: deliveryWorker)),
                .init(service: DigestService(worker: digestWorker)),
                // Last in, first out: on SIGTERM the socket closes before the checks drain.
                .init(
                    service: ControlService(
                        claim: claim, backend: ControlBackend(daemon: self, scheduler: scheduler),
                        socketGroup: c.daemon.socketGroup, readiness: controlReady)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Checks in flight get this long to finish; then they are cancelled.
        config.maximumGracefulShutdownDuration = .seconds(20)
        try await ServiceGroup(configuration: config).run()
        await shutdown()
    }
}
