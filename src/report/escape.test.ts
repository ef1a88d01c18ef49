import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  csvField,
  csvRow,
  escapeHtml,
  escapeMarkdown,
  escapeTerminal,
  hasTerminalUnsafe,
  neutraliseCsvFormula,
  safeJsonStringify,
  truncateForDisplay,
} from "./escape.js";

describe("escapeTerminal", () => {
  it("makes ANSI escape sequences visible instead of interpreting them", () => {
    assert.equal(escapeTerminal("vm\u001b[2J\u001b]0;pwned\u0007"), "vm\\x1B[2J\\x1B]0;pwned\\x07");
  });

  it("names line breaks and tabs", () => {
    assert.equal(escapeTerminal("a\nb\rc\td"), "a\\nb\\rc\\td");
  });

  it("escapes DEL and C1 controls such as the 8-bit CSI", () => {
    assert.equal(escapeTerminal("x\u007fy\u009b31m"), "x\\x7Fy\\x9B31m");
  });

  it("escapes bidi overrides, isolates and zero-width characters", () => {
    assert.equal(
      escapeTerminal("evil\u202egnp.exe\u2066\u200b\ufeff"),
      "evil\\u{202E}gnp.exe\\u{2066}\\u{200B}\\u{FEFF}",
    );
  });

  it("keeps printable text, other scripts and Windows paths unchanged", () => {
    const text = "C:\\Users\\vagrant\\AppData\\Local\\Temp\\powerclivmware151 Ünïcødé 日本 🙂";
    assert.equal(escapeTerminal(text), text);
    assert.equal(hasTerminalUnsafe(text), false);
  });

  it("replaces lone surrogates with U+FFFD", () => {
    assert.equal(escapeTerminal("a\ud800b\udc00c"), "a\ufffdb\ufffdc");
    assert.equal(escapeTerminal("🙂"), "🙂");
    assert.equal(hasTerminalUnsafe("a\ud800"), true);
  });
});

describe("escapeHtml", () => {
  it("escapes markup and quotes", () => {
    assert.equal(
      escapeHtml(`<img src=x onerror="alert('1')">&\``),
      "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;",
    );
  });

  it("also makes control characters visible", () => {
    assert.equal(escapeHtml("a\u001b[31m<b>"), "a\\x1B[31m&lt;b&gt;");
  });
});

describe("escapeMarkdown", () => {
  it("turns markup into entities, so no tag reaches the renderer", () => {
    assert.equal(
      escapeMarkdown("<img src=x onerror=alert(1)>"),
      "&lt;img src=x onerror=alert(1)&gt;",
    );
    assert.equal(escapeMarkdown("a & b"), "a &amp; b");
  });

  it("escapes what makes links, emphasis, code and table cells", () => {
    assert.equal(escapeMarkdown("=cmd|' /c calc'!A1"), "\\=cmd\\|' /c calc'!A1");
    assert.equal(escapeMarkdown("[x](javascript:y)"), "\\[x\\](javascript:y)");
    assert.equal(escapeMarkdown("a_b*c`d~e\\f"), "a\\_b\\*c\\`d\\~e\\\\f");
  });

  it("escapes a start that would make a heading, list or quote, and keeps one line", () => {
    assert.equal(escapeMarkdown("# title"), "\\# title");
    assert.equal(escapeMarkdown("- item"), "\\- item");
    assert.equal(escapeMarkdown("12. item"), "12\\. item");
    assert.equal(escapeMarkdown("> quote"), "&gt; quote");
    assert.equal(escapeMarkdown("a\nb\u001b[2J"), "a\\\\nb\\\\x1B\\[2J");
    assert.equal(escapeMarkdown("esx01.corp.example"), "esx01.corp.example");
  });
});

describe("CSV", () => {
  it("neutralises formula prefixes, including full-width and after white space", () => {
    for (const bad of [
      "=1+1",
      "+cmd",
      "-2+3",
      "@SUM(A1)",
      "\tx",
      "\rx",
      "\uff1dx",
      "  =HYPERLINK()",
    ]) {
      assert.equal(neutraliseCsvFormula(bad), `'${bad}`, bad);
    }
    assert.equal(neutraliseCsvFormula("root"), "root");
  });

  it("quotes fields with separators and doubles quotes", () => {
    assert.equal(csvField('a,"b"'), '"a,""b"""');
    assert.equal(csvField("plain"), "plain");
    assert.equal(csvField(undefined), "");
    assert.equal(csvField(null), "");
    assert.equal(csvField(-3), "-3");
    assert.equal(csvField(true), "true");
  });

  it("keeps one record per line and escapes terminal controls", () => {
    assert.equal(csvField("line1\nline2"), "line1\\nline2");
    assert.equal(csvField("\u001b[2J"), "\\x1B[2J");
  });

  it("neutralises a formula hidden behind an escaped control", () => {
    assert.equal(csvField("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    // the tab is written as the two characters `\t`, which no spreadsheet reads as a formula
    assert.equal(csvField("\t=1"), "\\t=1");
    assert.equal(csvField("  @cmd"), "'  @cmd");
  });

  it("quotes fields with leading or trailing spaces so they survive parsing", () => {
    assert.equal(csvField(" x "), '" x "');
  });

  it("ends rows with CRLF", () => {
    assert.equal(csvRow(["a", 1, undefined, "=x"]), "a,1,,'=x\r\n");
  });
});

describe("safeJsonStringify", () => {
  it("writes C1, DEL, separators and bidi characters as escapes that parse back unchanged", () => {
    const value = { vm: "a\u009b31m\u007f\u2028\u202e\u001bb" };
    const json = safeJsonStringify(value);
    // eslint-disable-next-line no-control-regex -- asserting their absence
    assert.doesNotMatch(json, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    assert.match(json, /\\u009b/);
    assert.deepEqual(JSON.parse(json), value);
  });

  it("supports indentation and undefined", () => {
    assert.equal(safeJsonStringify({ a: 1 }, 2), '{\n  "a": 1\n}');
    assert.equal(safeJsonStringify(undefined), "null");
  });
});

describe("truncateForDisplay", () => {
  it("cuts long text with an ellipsis after escaping", () => {
    assert.equal(truncateForDisplay("abcdef", 4), "abc…");
    assert.equal(truncateForDisplay("abc", 4), "abc");
    assert.equal(truncateForDisplay("\u001b", 10), "\\x1B");
    assert.equal(truncateForDisplay("abc", 0), "");
  });
});
