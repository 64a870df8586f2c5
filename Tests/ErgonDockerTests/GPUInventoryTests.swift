import ErgonCore
import Foundation
import Testing

@testable import ErgonDocker

@Suite("GPUInventory")
struct GPUInventoryTests {
    /// Writes an executable shell script standing in for `nvidia-smi`.
    static func script(_ body: String) throws -> String {
        let directory = try DockerFixtures.temporaryDirectory()
        let path = directory + "/nvidia-smi"
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
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
