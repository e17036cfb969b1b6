//! Every token the checks send, and the one place that keeps them out of reports.
//!
//! An endpoint may echo a token verbatim, JSON-escaped (`"\u0065\u0079…"`),
//! percent-encoded (`%65%79…`) or as HTML character references, or only its signature.
//! [`Redactor::redact`] finds each of those, decoding as often as it takes, and what it
//! returns holds none of them.

use std::borrow::Cow;

/// What stands for a whole token in a report.
pub const TOKEN_MARK: &str = "<redacted token>";
/// What stands for a token's signature in a report.
const SIGNATURE_MARK: &str = "<redacted signature>";
/// Shorter signatures are not looked for on their own (a real HMAC is 43 characters or more).
const MIN_SIGNATURE_LEN: usize = 16;
/// Nested encodings are undone this many times at most.
const MAX_DECODINGS: usize = 4;

/// The tokens sent so far and their signatures.
#[derive(Default)]
pub struct Redactor {
    /// Whole tokens, then signatures, each with its mark.
    secrets: Vec<(String, &'static str)>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Remembers `token`, and its signature on its own.
    pub fn add(&mut self, token: &str) {
        if token.is_empty() {
            return;
        }
        if let Some((_, signature)) = token.rsplit_once('.')
            && signature.len() >= MIN_SIGNATURE_LEN
        {
            self.push(signature, SIGNATURE_MARK);
        }
        self.push(token, TOKEN_MARK);
        // Whole tokens first: a token holds its own signature.
        self.secrets.sort_by_key(|(_, mark)| *mark != TOKEN_MARK);
    }

    fn push(&mut self, secret: &str, mark: &'static str) {
        if !self.secrets.iter().any(|(known, _)| known == secret) {
            self.secrets.push((secret.to_owned(), mark));
        }
    }

    /// `text` with every token and signature replaced by a mark. Where one is found only
    /// after decoding (percent-encoding, JSON escapes, HTML character references), the
    /// decoded text is returned, redacted.
    pub fn redact(&self, text: &str) -> String {
        let mut shown = self.replace(text).into_owned();
        // Breadth first through the decodings, at most MAX_DECODINGS deep; whenever a form
        // holds a secret it is redacted and becomes the text shown, and the search restarts.
        let mut forms = vec![shown.clone()];
        let mut depth = 0;
        while depth < MAX_DECODINGS && !forms.is_empty() {
            let decoded: Vec<String> = forms.iter().flat_map(|form| decodings(form)).collect();
            if let Some(found) = decoded.iter().find(|form| self.holds(form)) {
                shown = self.replace(found).into_owned();
                forms = vec![shown.clone()];
                depth = 0;
            } else {
                forms = decoded;
                depth += 1;
            }
        }
        shown
    }

    /// Whether `text` holds a token or a signature as is.
    fn holds(&self, text: &str) -> bool {
        self.secrets
            .iter()
            .any(|(secret, _)| text.contains(secret.as_str()))
    }

    fn replace<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for (secret, mark) in &self.secrets {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), mark));
            }
        }
        text
    }
}

/// `text` decoded each way an echo may have encoded it, where it could have.
fn decodings(text: &str) -> impl Iterator<Item = String> {
    [
        percent_decode(text),
        json_unescape(text),
        html_unescape(text),
    ]
    .into_iter()
    .flatten()
}

/// `%XX` sequences decoded (invalid UTF-8 replaced); `None` when there is none.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(byte) = bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// JSON string escapes (`\uXXXX`, `\/`, `\n`, …) decoded anywhere in `text`; `None` when
/// there is no backslash.
fn json_unescape(text: &str) -> Option<String> {
    if !text.contains('\\') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = u32::from_str_radix(&hex, 16).ok();
                match unit.and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    // A lone surrogate or bad hex: a token is ASCII, so nothing is lost.
                    None => out.push(char::REPLACEMENT_CHARACTER),
                }
            }
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// HTML character references (`&#101;`, `&#x65;`) decoded; `None` when there is none.
fn html_unescape(text: &str) -> Option<String> {
    if !text.contains("&#") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let decoded = after.find(';').and_then(|end| {
            let number = &after[..end];
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => number.parse().ok(),
            };
            code.and_then(char::from_u32).map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str =
        "eyJhbGciOiJIUzI1NiJ9.eyJkb21haW4iOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NTY";

    fn redactor() -> Redactor {
        let mut redactor = Redactor::default();
        redactor.add(TOKEN);
        redactor
    }

    fn every_byte(text: &str, format: impl Fn(u8) -> String) -> String {
        text.bytes().map(format).collect()
    }

    #[test]
    fn every_encoding_of_the_token_is_redacted() {
        let redactor = redactor();
        let signature = TOKEN.rsplit_once('.').unwrap().1;
        let table = [
            format!("x-{TOKEN}-y"),
            every_byte(TOKEN, |b| format!("\\u{b:04x}")),
            every_byte(TOKEN, |b| format!("%{b:02X}")),
            every_byte(TOKEN, |b| format!("%{b:02x}")),
            every_byte(TOKEN, |b| format!("&#{b};")),
            every_byte(TOKEN, |b| format!("&#x{b:x};")),
            // Percent-encoded, then JSON-escaped.
            every_byte(&every_byte(TOKEN, |b| format!("%{b:02X}")), |b| {
                format!("\\u{b:04x}")
            }),
            format!("sig={signature}"),
            TOKEN.replace('.', "%2E"),
        ];
        for text in table {
            let shown = redactor.redact(&text);
            assert!(!shown.contains(TOKEN), "{text} -> {shown}");
            assert!(!shown.contains(signature), "{text} -> {shown}");
            assert!(shown.contains("<redacted"), "{text} -> {shown}");
        }
    }

    #[test]
    fn text_without_a_token_is_left_as_is() {
        let redactor = redactor();
        for text in ["plain", "100%", "a\\u00", "&#;", "%zz", "&#x110000;", "\\"] {
            assert_eq!(redactor.redact(text), text);
        }
        assert_eq!(Redactor::default().redact(TOKEN), TOKEN);
    }
}
