import ErgonCore
import Foundation
import Testing

@testable import ErgonDocker

@Suite("GPUInventory")
struct GPUInventoryTests {
    /// Writes an executable shell script standing in for `nvidia-smi`.
    ///
    /// A child process writes it: a file this process held open for writing is inherited by any
    /// process another test spawns at that moment, and running the script then fails with
    /// ETXTBSY ("Text file busy") until that process has exec'd (seen in a CI run).
    static func script(_ body: String) throws -> String {
        let directory = try DockerFixtures.temporaryDirectory()
        let path = directory + "/nvidia-smi"
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", #"printf '%s\n' "$2" > "$1" && chmod 755 "$1""#, "sh", path, "#!/bin/sh\n\(body)"]
        try writer.run()
        writer.waitUntilExit()
        guard writer.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        return path
    }

    @Test func noneAndExplicitDevices() throws {
        #expect(try GPUInventory.resolve(.none) == [])
        #expect(try GPUInventory.resolve(.devices(["0", "GPU-abc"])) == ["0", "GPU-abc"])
    }

    @Test func allReadsNvidiaSMI() throws {
        let fake = try Self.script(#"[ "$1" = "--query-gpu=uuid" ] && [ "$2" = "--format=csv,noheader" ] || exit 9"# + "\nprintf 'GPU-aaa\\nGPU-bbb\\n'")
        #expect(try GPUInventory.resolve(.all, nvidiaSMI: fake) == ["GPU-aaa", "GPU-bbb"])
    }

    @Test func allFailsClearlyWhenNvidiaSMIIsMissing() throws {
        let error = try #require(throws: GPUInventory.ResolutionError.self) {
            try GPUInventory.resolve(.all, nvidiaSMI: "/nonexistent/nvidia-smi")
        }
        #expect(error.message.contains("docker.gpus: all"))
        #expect(error.message.contains("/nonexistent/nvidia-smi not found"))
    }

    @Test func allFailsClearlyWhenNvidiaSMIFails() throws {
        let fake = try Self.script("echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver' >&2; exit 9")
        let error = try #require(throws: GPUInventory.ResolutionError.self) {
            try GPUInventory.resolve(.all, nvidiaSMI: fake)
        }
        #expect(error.message.contains("status 9"))
        #expect(error.message.contains("could not communicate with the NVIDIA driver"))
    }

    @Test func allFailsWhenNoGPUIsReported() throws {
        let fake = try Self.script("exit 0")
        #expect(throws: GPUInventory.ResolutionError.self) { try GPUInventory.resolve(.all, nvidiaSMI: fake) }
    }

    @Test(.enabled(if: !FileManager.default.isExecutableFile(atPath: "/usr/bin/nvidia-smi")))
    func onThisMachineAllFailsWithoutTheDriver() throws {
        let error = try #require(throws: GPUInventory.ResolutionError.self) { try GPUInventory.resolve(.all) }
        #expect(error.message.contains("nvidia-smi"))
    }
}
