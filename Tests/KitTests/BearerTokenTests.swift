import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceKit
import Testing

@Suite struct BearerTokenTests {
    func token(_ header: String?) -> String? {
        var fields = HTTPFields()
        if let header { fields[.authorization] = header }
        let head = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/", headerFields: fields)
        return Request(head: head, body: .init(buffer: ByteBuffer())).bearerToken
    }

    @Test func theSchemeIsCaseInsensitiveAndBlanksAroundTheTokenGo() {
        #expect(token("Bearer abc.def") == "abc.def")
        #expect(token("bearer abc") == "abc")
        #expect(token("BEARER   abc \t") == "abc")
        #expect(token("Bearer 令牌") == "令牌")
    }

    @Test func anythingElseIsNoBearerToken() {
        for header in [nil, "", "Bearer", "Bearer ", "Bearer    ", "Bearerabc", "Basic YWRtaW46eA==", "Bearer\tabc", "Beare abc"] {
            #expect(token(header) == nil, "\(String(describing: header))")
        }
    }
}

@Suite struct UUIDTextTests {
    @Test func theLowerCaseFormIsFoundationsLowerCased() {
        for _ in 0..<1000 {
            let id = UUID()
            #expect(id.lowercased == id.uuidString.lowercased())
        }
        #expect(UUID(uuidString: "00000000-0000-0000-0000-00000000000F")!.lowercased == "00000000-0000-0000-0000-00000000000f")
    }
}
