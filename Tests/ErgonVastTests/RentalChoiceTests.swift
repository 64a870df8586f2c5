import ErgonCore
import Foundation
import Testing

@testable import ErgonVast

/// How a launch explains the offer it ordered (`ergon tasks show`): pure, on a synthetic market.
@Suite("Rental choice")
struct RentalChoiceTests {
    /// Five offers, cheapest first (the price ranking), on machines 11…15.
    static let ranked = (1...5).map { n in
        VastOffer(id: 100 + n, machineID: 10 + n, gpuName: "RTX_4090", gpuRAM: 24_000, dphTotal: 0.3 + Double(n) / 100, reliability: 0.99)
    }
    static let now = Date(timeIntervalSince1970: 1_700_000_000)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var ordered: Int
        var passedOver: [(Int, RentalChoice.PassedOver)]
        var warm: Bool
        var rank: Int
        var reason: String?
        var testDescription: String { name }
    }

    @Test(arguments: [
        Case(name: "the first choice", ordered: 0, passedOver: [], warm: false, rank: 1, reason: nil),
        Case(name: "one taken", ordered: 1, passedOver: [(0, .taken)], warm: false, rank: 2, reason: "offer 1 was taken"),
        Case(
            name: "three taken", ordered: 3, passedOver: [(0, .taken), (1, .taken), (2, .taken)], warm: false, rank: 4,
            reason: "offers 1-3 were taken"),
        Case(
            name: "taken and refused", ordered: 3, passedOver: [(0, .overBudget), (1, .taken), (2, .overBudget)], warm: false,
            rank: 4, reason: "offer 2 was taken; offers 1, 3 were refused by the budget"),
        Case(
            name: "a warm host", ordered: 2, passedOver: [], warm: true, rank: 3,
            reason: "warm host: its machine ran img:1 2h ago; 6.5% above the first choice, within prefer_warm_hosts_within 10%"),
        Case(name: "the warm host taken, the cheapest ordered", ordered: 0, passedOver: [(2, .taken)], warm: true, rank: 1, reason: nil),
    ])
    func explains(_ c: Case) {
        let warm = c.warm
            ? OfferSelection.preferWarm(Self.ranked, warm: [13: Self.now - 7200], within: 0.1, image: "img:1").choice : nil
        #expect(!c.warm || warm?.offerID == 103)
        let choice = RentalChoice.vast(
            ordered: Self.ranked[c.ordered], ranked: Self.ranked,
            passedOver: c.passedOver.map { (Self.ranked[$0.0], $0.1) }, warm: warm, now: Self.now, ranking: RentalChoice.price)
        #expect(choice.offerID == String(Self.ranked[c.ordered].id))
        #expect(choice.machineID == String(Self.ranked[c.ordered].machineID))
        #expect(choice.gpuName == "RTX_4090")
        #expect(choice.rank == c.rank)
        #expect(choice.matched == 5)
        #expect(choice.ranking == "price")
        #expect(choice.score == Self.ranked[c.ordered].dphTotal)
        #expect(choice.reason == c.reason)
    }

    @Test func spans() {
        #expect(RentalChoice.spans([1]) == "1")
        #expect(RentalChoice.spans([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8")
    }

    @Test("stored and shown with the API's spelling")
    func json() throws {
        let choice = RentalChoice(
            offerID: "7", machineID: "8", gpuName: "RTX_3090", rank: 2, matched: 3, ranking: "price", score: 0.25,
            reason: "offer 1 was taken")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(choice), as: UTF8.self)
        #expect(text == #"{"gpuName":"RTX_3090","machineId":"8","matched":3,"offerId":"7","rank":2,"ranking":"price","#
            + #""reason":"offer 1 was taken","score":0.25}"#)
        #expect(try JSONDecoder().decode(RentalChoice.self, from: Data(text.utf8)) == choice)
        #expect(choice.summary == "rank 2 of 3 by price (score 0.250): offer 1 was taken")
    }
}
