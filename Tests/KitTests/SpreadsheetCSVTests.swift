import ServiceKit
import Testing

@Suite struct SpreadsheetCSVTests {
    @Test func cellsASpreadsheetWouldRunAreText() {
        var csv = SpreadsheetCSV(header: ["name", "note"])
        csv.append([#"=HYPERLINK("http://evil.example","click")"#, "+1"])
        csv.append(["@SUM(A1)", "-2"])
        csv.append(["\tx", "\rcmd"])
        csv.append(["李雷", "plain"])
        #expect(csv.text == """
            name,note\r
            "'=HYPERLINK(""http://evil.example"",""click"")","'+1"\r
            "'@SUM(A1)","'-2"\r
            "'\tx","'\rcmd"\r
            李雷,plain\r

            """)
    }

    @Test func quotingFollowsRFC4180AndTheFileStartsWithAByteOrderMark() {
        var csv = SpreadsheetCSV(header: ["a"])
        csv.append(["Li, Na"])
        csv.append(["say \"hi\""])
        csv.append(["two\nlines"])
        #expect(csv.text == "a\r\n\"Li, Na\"\r\n\"say \"\"hi\"\"\"\r\n\"two\nlines\"\r\n")
        #expect(csv.bytes.getBytes(at: 0, length: 3) == [0xEF, 0xBB, 0xBF])
    }
}
