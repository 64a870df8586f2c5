import Foundation
import Logging
import ServiceLifecycle

/// Reports each ended workflow to `notify.webhook_url` once: one JSON `POST` (see
/// ``WorkflowEndReport``). The queue records the delivery, so it is neither lost across
/// restarts nor repeated by agents sharing the queue: an agent claims a report for the time
/// of a try and the wait before the next, sends it, and marks it delivered on a 2xx answer.
/// Other answers and connection failures are retried with growing pauses, each with a warning
/// naming the URL's host. Runs beside the scheduler, so a slow endpoint never delays a tick.
public actor WorkflowNotifier: Service {
    /// What the notifier needs from the configuration, with its timings.
    public struct Settings: Sendable {
        public var url: URL
        public var headers: [String: String]
        public var secret: String?
        /// How long one `POST` may take.
        public var timeout: Duration = .seconds(5)
        /// How often the queue is read for ended workflows.
        public var pollInterval: Duration = .seconds(5)
        /// The first pause after a failed try; each further failure doubles it, up to `maximumBackoff`.
        public var initialBackoff: TimeInterval = 2
        public var maximumBackoff: TimeInterval = 300
        /// Workflows that ended longer ago are never reported: an agent that gets a webhook
        /// configured does not post the whole history of the queue.
        public var lookback: TimeInterval = Settings.defaultLookback
        /// The `lookback` agents use; `ergon gc` keeps an unreported workflow within it.
        public static let defaultLookback: TimeInterval = 3 * 86_400

        public init(url: URL, headers: [String: String] = [:], secret: String? = nil) {
            self.url = url
            self.headers = headers
            self.secret = secret
        }

        /// The settings of `notify`, or nil when no webhook is configured.
        public init?(_ notify: ErgonConfig.Notify, pollInterval: Duration) {
            guard let url = notify.webhookURL else { return nil }
            self.init(url: url, headers: notify.headers.mapValues(\.value), secret: notify.secret?.value)
            self.pollInterval = pollInterval
        }
    }

    let settings: Settings
    let agentID: String
    let queue: any TaskQueue
    let transport: any WebhookTransport
    let logger: Logger
    let now: @Sendable () -> Date
    /// Reports that failed, with when to try again and the failures so far.
    private var retries: [UUID: (workflow: WorkflowRecord, at: Date, failures: Int)] = [:]

    public init(
        settings: Settings, agentID: String, queue: any TaskQueue, transport: any WebhookTransport, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.agentID = agentID
        self.queue = queue
        self.transport = transport
        self.logger = logger
        self.now = now
    }

    /// Looks for ended workflows every poll interval until graceful shutdown; a try in flight
    /// is cancelled then, and its claim runs out so the next start (or another agent) sends it.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.deliverDue()
                try await Task.sleep(for: self.settings.pollInterval)
            }
        }
    }

    /// Sends every report that is due: ended workflows nobody reported or claims, and this
    /// agent's retries whose pause is over.
    public func deliverDue() async {
        let start = now()
        var due: [WorkflowRecord] = retries.values.filter { $0.at <= start }.map { $0.workflow }
        do {
            let listed = try await queue.workflowsToNotify(since: start.addingTimeInterval(-settings.lookback), at: start)
            due += listed.filter { retries[$0.id] == nil }
        } catch {
            logger.warning("notify: reading the queue for ended workflows failed; trying again in \(settings.pollInterval): \(error)")
        }
        for workflow in due where !Task.isCancelled {
            await deliver(workflow)
        }
    }

    /// The pause after `failures` failed tries in a row.
    func backoff(after failures: Int) -> TimeInterval {
        min(settings.maximumBackoff, settings.initialBackoff * pow(2, Double(max(0, failures - 1))))
    }

    /// Claims, sends and records one report.
    func deliver(_ workflow: WorkflowRecord) async {
        let id = workflow.id.uuidString.lowercased()
        let failures = retries[workflow.id]?.failures ?? 0
        let claimedAt = now()
        // The claim covers this try and the pause before the next, so agents sharing the
        // queue leave the report to this one while it retries; if it dies, the claim runs out.
        let hold = settings.timeout.seconds + backoff(after: failures + 1) + 30
        let body: [UInt8]
        do {
            guard try await queue.claimNotification(
                workflowID: workflow.id, agentID: agentID, until: claimedAt.addingTimeInterval(hold), at: claimedAt)
            else {
                retries[workflow.id] = nil
                return
            }
            let tasks = try await queue.tasks(TaskFilter(workflowID: workflow.id))
            var attempts: [AttemptRecord] = []
            for task in tasks { attempts += try await queue.attempts(of: task.id) }
            body = try WorkflowEndReport(workflow: workflow, tasks: tasks, attempts: attempts).encoded()
        } catch {
            logger.warning("notify: preparing the report of workflow \(workflow.name) (\(id)) failed: \(error)")
            retries[workflow.id] = (workflow, claimedAt.addingTimeInterval(backoff(after: failures + 1)), failures + 1)
            return
        }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("User-Agent", "ergon"), ("X-Ergon-Delivery", id),
        ]
        headers += settings.headers.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
        if let secret = settings.secret {
            headers.append((WebhookSignature.header, WebhookSignature.value(body: body, secret: secret)))
        }
        var problem: String?
        do {
            let status = try await transport.post(to: settings.url, headers: headers, body: body, timeout: settings.timeout)
            guard (200..<300).contains(status) else { throw WebhookAnswer(status: status) }
        } catch {
            problem = (error as? WebhookAnswer).map { "answered HTTP \($0.status)" } ?? "failed: \(error)"
        }
        if problem == nil {
            do {
                try await queue.markNotified(workflowID: workflow.id, agentID: agentID, at: now())
                retries[workflow.id] = nil
                logger.info("notify: reported the end of workflow \(workflow.name) (\(id)) to \(settings.url.host ?? "-")")
            } catch {
                // Sent but not recorded: it goes again once the claim runs out, rather than never.
                retries[workflow.id] = nil
                logger.warning("notify: workflow \(workflow.name) (\(id)) was reported but recording it failed; it may be reported again: \(error)")
            }
            return
        }
        let pause = backoff(after: failures + 1)
        retries[workflow.id] = (workflow, now().addingTimeInterval(pause), failures + 1)
        logger.warning(
            "notify.webhook_url: POST to \(settings.url.host ?? "-") \(problem ?? "failed") (workflow \(workflow.name), \(id)); try \(failures + 1), next in \(Int(pause.rounded()))s")
    }
}

/// A webhook's answer other than 2xx.
private struct WebhookAnswer: Error {
    let status: Int
}
