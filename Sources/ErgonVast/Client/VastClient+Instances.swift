import Foundation
import Logging

extension VastClient {
    /// The most instances the v1 listing returns per page (the official CLI never asks for more).
    public static let maximumPageSize = 25

    /// `PUT /api/v0/asks/{offerID}/`: rents the offer and starts `request` on it.
    ///
    /// Never resent automatically: a create whose answer was lost may have rented an instance, so
    /// on `.timeout` or `.transport` look the instance up by its label instead. `.offerGone` means
    /// the offer was taken: try the next one. When an error answer still names an instance
    /// (`new_contract`), the error carries it as ``VastError/strayInstanceID`` and the caller must
    /// destroy it.
    public func createInstance(offerID: Int, request: VastCreateRequest) async throws -> VastCreatedInstance {
        let call = VastCall.createInstance(offerID: offerID, request: request)
        let answer = try await perform(call)
        guard let id = VastFields(answer).int("new_contract") else {
            throw malformed(call, "the answer has no \"new_contract\"")
        }
        return VastCreatedInstance(id: id)
    }

    /// `GET /api/v1/instances/`, following `next_token` until the last page, ordered by id.
    ///
    /// `selectFilters` narrows the listing server-side with the same `{"field": {"op": value}}`
    /// shape as offer filters; the official CLI filters labels with `{"label": {"in": [...]}}`.
    /// `pageSize` is capped at ``maximumPageSize``. Any unreadable page fails the whole listing
    /// (an incomplete listing must never pass for "nothing running"); an instance seen on two pages
    /// is listed once.
    public func listInstances(selectFilters: JSONValue? = nil, pageSize: Int = 25) async throws -> [VastInstance] {
        let limit = min(max(1, pageSize), Self.maximumPageSize)
        var instances: [VastInstance] = []
        var positions: [Int: Int] = [:]
        var seenTokens: Set<String> = []
        var token: String?
        repeat {
            let call = VastCall.listInstances(selectFilters: selectFilters, limit: limit, after: token)
            let answer = try await perform(call)
            let page: [JSONValue]
            switch answer["instances"] {
            case .array(let items)?: page = items
            case .null?: page = []
            default: throw malformed(call, "the answer has no \"instances\" list")
            }
            for item in page {
                let instance: VastInstance
                do {
                    instance = try VastInstance(fields: VastFields(item))
                } catch {
                    throw malformed(call, "an instance has no readable \"\(error.field)\"")
                }
                if let position = positions[instance.id] {
                    instances[position] = instance
                } else {
                    positions[instance.id] = instances.count
                    instances.append(instance)
                }
            }
            token = VastFields(answer).string("next_token").flatMap { $0.isEmpty ? nil : $0 }
            if let next = token, !seenTokens.insert(next).inserted {
                throw malformed(call, "the listing repeats the page token \"\(next)\"")
            }
        } while token != nil
        return instances
    }

    /// `GET /api/v0/instances/{id}/?owner=me`; nil when the instance is gone (`{"instances": null}`,
    /// or a 404 carrying an API error code such as `not_found`).
    public func instance(id: Int) async throws -> VastInstance? {
        let call = VastCall.showInstance(id: id)
        let answer: JSONValue
        do {
            answer = try await perform(call)
        } catch let error as VastError where Self.saysGone(error) {
            return nil
        }
        let row: JSONValue
        switch answer["instances"] {
        case .null?:
            return nil
        case .object?:
            row = answer["instances"]!
        case .array(let rows)?:
            // Some API versions answer with a list; the one asked for is the one with this id.
            guard let match = rows.first(where: { VastFields($0).int("id") == id }) else { return nil }
            row = match
        default:
            throw malformed(call, "the answer has no \"instances\" member")
        }
        do {
            return try VastInstance(fields: VastFields(row))
        } catch {
            throw malformed(call, "the instance has no readable \"\(error.field)\"")
        }
    }

    /// `DELETE /api/v0/instances/{id}/` with body `{}`. An instance that no longer exists (404 with
    /// an API error code such as `not_found`) counts as destroyed; confirm with ``instance(id:)``.
    public func destroyInstance(id: Int) async throws {
        let call = VastCall.destroyInstance(id: id)
        do {
            _ = try await perform(call)
        } catch let error as VastError where Self.saysGone(error) {
            logger.debug("instance already gone", metadata: ["instance": "\(id)"])
        }
    }

    /// `PUT /api/v0/instances/{id}/` with `{"label": label}` (at most 1024 characters).
    public func setLabel(id: Int, label: String) async throws {
        let call = VastCall.setLabel(id: id, label: label)
        _ = try await perform(call)
    }

    /// `PUT /api/v0/instances/{id}/` with `{"state": "stopped"}`. A stopped instance still bills
    /// for its disk: to end a task, destroy it.
    public func stopInstance(id: Int) async throws {
        let call = VastCall.stopInstance(id: id)
        _ = try await perform(call)
    }

    /// True for the API saying the instance does not exist: a not-found answer that carries an API
    /// error code (a bare 404 from a proxy or a wrong base URL does not count).
    static func saysGone(_ error: VastError) -> Bool {
        error.kind == .notFound && error.apiError != nil
    }
}
