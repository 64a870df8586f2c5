import Testing

@testable import ErgonDocker

@Suite("DockerLogDemuxer")
struct DockerLogDemuxerTests {
    static func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let size = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(size >> 24), UInt8((size >> 16) & 0xff), UInt8((size >> 8) & 0xff), UInt8(size & 0xff)]
            + payload
    }

    @Test func splitsFramesDeliveredOneByteAtATime() throws {
        let bytes = Self.frame(1, "out line\n") + Self.frame(2, "err line\n") + Self.frame(1, "") + Self.frame(1, "last")
        var demuxer = DockerLogDemuxer(mode: .multiplexed)
        var frames: [DockerLogDemuxer.Frame] = []
        for byte in bytes {
            frames += try demuxer.append([byte])
        }
        frames += try demuxer.finish()
        #expect(
            frames == [
                .init(stream: .stdout, payload: Array("out line\n".utf8)),
                .init(stream: .stderr, payload: Array("err line\n".utf8)),
                .init(stream: .stdout, payload: []),
                .init(stream: .stdout, payload: Array("last".utf8)),
            ])
    }

    @Test func readsLargeFramesWithBigEndianSizes() throws {
        let text = String(repeating: "x", count: 70_000)
        var demuxer = DockerLogDemuxer(mode: .multiplexed)
        let bytes = Self.frame(2, text)
        #expect(bytes[4...7] == [0, 1, 0x11, 0x70])
        let first = try demuxer.append(bytes.prefix(40_000))
        #expect(first.isEmpty)
        let rest = try demuxer.append(bytes.dropFirst(40_000))
        #expect(rest == [.init(stream: .stderr, payload: Array(text.utf8))])
    }

    @Test func rejectsABadHeader() {
        var demuxer = DockerLogDemuxer(mode: .multiplexed)
        #expect(throws: DockerLogDemuxer.MalformedStream.self) {
            _ = try demuxer.append([1, 0, 1, 0, 0, 0, 0, 1, 65])
        }
        var other = DockerLogDemuxer(mode: .multiplexed)
        #expect(throws: DockerLogDemuxer.MalformedStream.self) {
            _ = try other.append([7, 0, 0, 0, 0, 0, 0, 1, 65])
        }
    }

    @Test func rejectsAStreamCutInsideAFrame() throws {
        var demuxer = DockerLogDemuxer(mode: .multiplexed)
        #expect(try demuxer.append(Self.frame(1, "hello").dropLast(2)).isEmpty)
        #expect(throws: DockerLogDemuxer.MalformedStream.self) { _ = try demuxer.finish() }
    }

    @Test func rawModeSplitsLinesAndKeepsTheLastPartialOne() throws {
        var demuxer = DockerLogDemuxer(mode: .raw)
        var frames = try demuxer.append(Array("one\ntw".utf8))
        frames += try demuxer.append(Array("o\nthree".utf8))
        frames += try demuxer.finish()
        #expect(frames.map { String(decoding: $0.payload, as: UTF8.self) } == ["one\n", "two\n", "three"])
    }

    @Test(arguments: [
        (String?.none, UInt8?.some(1), DockerLogDemuxer.Mode.multiplexed),
        (nil, UInt8(ascii: "2"), .raw),
        ("application/vnd.docker.raw-stream", 1, .raw),
        ("application/vnd.docker.multiplexed-stream", UInt8(ascii: "2"), .multiplexed),
        (nil, nil, .multiplexed),
    ])
    func detectsTheMode(contentType: String?, firstByte: UInt8?, expected: DockerLogDemuxer.Mode) {
        #expect(DockerLogDemuxer.mode(contentType: contentType, firstByte: firstByte) == expected)
    }
}
