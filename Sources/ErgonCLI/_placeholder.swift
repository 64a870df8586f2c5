import ArgumentParser
public struct ErgonCommand: ParsableCommand { public init() {} }
