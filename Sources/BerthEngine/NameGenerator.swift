import Foundation

/// Names for unnamed containers in Docker's `adjective_surname` form, from Berth's own lists
/// (harbour and sea words, navigators and ship designers).
enum NameGenerator {
    static let adjectives = [
        "agile", "amber", "bold", "brave", "breezy", "bright", "busy", "calm", "clever", "cosmic", "crisp", "daring",
        "deep", "eager", "fair", "fearless", "festive", "gentle", "glad", "golden", "hardy", "hopeful", "jolly", "keen",
        "kind", "lively", "loyal", "lucid", "merry", "mighty", "modest", "nimble", "noble", "patient", "placid", "proud",
        "quiet", "rapid", "salty", "serene", "sharp", "silent", "steady", "sturdy", "sunny", "swift", "tidal", "tranquil",
        "trusty", "vivid", "wandering", "wise", "witty", "zealous",
    ]
    static let surnames = [
        "anning", "baret", "bering", "bougainville", "cabot", "carson", "cartier", "cheng", "cook", "cousteau", "dampier",
        "darwin", "drake", "earle", "ericsson", "flinders", "fram", "franklin", "fulton", "gama", "hanno", "hudson",
        "humboldt", "ibn_battuta", "kupe", "lapérouse", "magellan", "maury", "mawson", "nansen", "noether", "piccard",
        "polo", "rasmussen", "ross", "shackleton", "sylvia", "tasman", "tupaia", "vancouver", "vespucci", "zheng",
    ].map { $0.replacingOccurrences(of: "é", with: "e") }

    /// A random name; `retry` > 0 appends a digit, as Docker does after a clash.
    static func make(retry: Int = 0) -> String {
        let name = "\(adjectives.randomElement()!)_\(surnames.randomElement()!)"
        return retry > 0 ? "\(name)\(Int.random(in: 0...9))" : name
    }
}
