import ErgonCore
import Foundation

/// Turns `docker.gpus` into the device ids the agent hands out, one task per GPU.
public enum GPUInventory {
    /// Why the GPUs could not be listed.
    public struct ResolutionError: Error, Equatable, Sendable, CustomStringConvertible {
        /// A message naming the command and what it said.
        public var message: String
        public var description: String { message }
    }

    /// `.none` → none; `.devices` → those ids; `.all` → every GPU `nvidia-smi` reports.
    public static func resolve(_ selection: ErgonConfig.GPUSelection) throws -> [String] {
        try resolve(selection, nvidiaSMI: "nvidia-smi")
    }

    /// As ``resolve(_:)`` with the `nvidia-smi` program named (a path, or a name looked up in `PATH`).
    public static func resolve(_ selection: ErgonConfig.GPUSelection, nvidiaSMI: String) throws -> [String] {
        switch selection {
        case .none: return []
        case .devices(let ids): return ids
        case .all: return try queryNvidiaSMI(nvidiaSMI)
        }
    }

    private static func queryNvidiaSMI(_ program: String) throws -> [String] {
        let command = "\(program) --query-gpu=uuid --format=csv,noheader"
        let hint = "(docker.gpus: all needs the NVIDIA driver; list device ids in docker.gpus instead)"
        guard let executable = locate(program) else {
            throw ResolutionError(message: "docker.gpus: all: cannot run `\(command)`: \(program) not found \(hint)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--query-gpu=uuid", "--format=csv,noheader"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ResolutionError(message: "docker.gpus: all: cannot run `\(command)`: \(error) \(hint)")
        }
        // Read both pipes to the end before waiting so a chatty program cannot block on a full pipe.
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stdout = String(decoding: outData, as: UTF8.self)
        let stderr = String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let said = stderr.isEmpty ? stdout.trimmingCharacters(in: .whitespacesAndNewlines) : stderr
            throw ResolutionError(
                message: "docker.gpus: all: `\(command)` failed with status \(process.terminationStatus)"
                    + (said.isEmpty ? "" : ": \(said)") + " \(hint)")
        }
        let ids = stdout.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !ids.isEmpty else {
            throw ResolutionError(message: "docker.gpus: all: `\(command)` reported no GPU \(hint)")
        }
        return ids
    }

    private static func locate(_ program: String) -> String? {
        let files = FileManager.default
        if program.contains("/") {
            return files.isExecutableFile(atPath: program) ? program : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if files.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
