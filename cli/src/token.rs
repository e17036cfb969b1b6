//! `livefyre token system|user|inspect`.

use std::fmt::Write as _;
use std::io::Read as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tower_livefyre::{Network, TokenError, UserId, token::SYSTEM_USER};

use crate::args::{NetworkArgs, TokenArgs, TokenCommand};
use crate::error::CliError;
use crate::key::{self, DEMO_NETWORK};

/// Expiry times past this many Unix seconds (year 5138) are not Unix seconds at all.
const LATEST_PLAUSIBLE_EXPIRY: f64 = 1e11;

/// `livefyre token system|user|inspect`.
pub fn run(args: TokenArgs) -> Result<ExitCode, CliError> {
    match args.command {
        TokenCommand::System { network, ttl } => {
            print_token(&network, &UserId::SYSTEM, SYSTEM_USER, ttl)
        }
        TokenCommand::User {
            id,
            display_name,
            network,
            ttl,
        } => {
            let display_name = display_name.unwrap_or_else(|| id.to_string());
            print_token(&network, &id, &display_name, ttl)
        }
        TokenCommand::Inspect { token, network } => {
            let token = if token == "-" {
                read_stdin_token()?
            } else {
                token
            };
            inspect(&token, &network)
        }
    }
}

/// The longest token read from stdin; the library refuses tokens past 4 KiB anyway.
const MAX_STDIN_TOKEN: u64 = 64 * 1024;

/// The token on stdin (`token inspect -`): not in argv, so not in `ps` or shell history.
fn read_stdin_token() -> Result<String, CliError> {
    let mut token = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_STDIN_TOKEN + 1)
        .read_to_string(&mut token)
        .map_err(|error| CliError::Usage(format!("reading the token from stdin: {error}")))?;
    if token.len() as u64 > MAX_STDIN_TOKEN {
        return Err(CliError::Usage(format!(
            "stdin holds more than {} KiB: that is not a token",
            MAX_STDIN_TOKEN / 1024
        )));
    }
    if token.trim().is_empty() {
        return Err(CliError::Usage(
            "no token on stdin (pipe one in: livefyre token inspect - < token.txt)".to_owned(),
        ));
    }
    Ok(token)
}

fn print_token(
    network: &NetworkArgs,
    user: &UserId,
    display_name: &str,
    ttl: u64,
) -> Result<ExitCode, CliError> {
    let credentials = key::credentials(network, Some(DEMO_NETWORK))?;
    let token = credentials
        .network
        .build_user_auth_token(user, display_name, Duration::from_secs(ttl))
        .map_err(|error| CliError::Usage(error.to_string()))?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// The parts of a token that can be shown: header and claims, never the signature.
struct Decoded {
    header: Result<Value, String>,
    claims: Result<Value, String>,
    signature_len: Option<usize>,
}

fn decode(token: &str) -> Decoded {
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next(), parts.next(), parts.next());
    let extra = parts.next().is_some();
    let json = |part: Option<&str>, what: &str| -> Result<Value, String> {
        let part = part.ok_or_else(|| format!("no {what} part"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|error| format!("{what} is not unpadded base64url: {error}"))?;
        serde_json::from_slice(&bytes).map_err(|error| format!("{what} is not JSON: {error}"))
    };
    Decoded {
        header: json(Some(header.unwrap_or_default()), "header"),
        claims: if extra {
            Err("more than three dot-separated parts".to_owned())
        } else {
            json(claims, "claims")
        },
        signature_len: signature
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .map(|s| s.len()),
    }
}

fn inspect(token: &str, network: &NetworkArgs) -> Result<ExitCode, CliError> {
    let token = token.trim();
    let decoded = decode(token);
    let mut out = String::new();
    let shown = |part: &Result<Value, String>| match part {
        Ok(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
        Err(error) => format!("(unreadable: {error})"),
    };
    let _ = writeln!(out, "header: {}", shown(&decoded.header));
    let _ = writeln!(out, "claims: {}", shown(&decoded.claims));
    let _ = writeln!(
        out,
        "signature: {}",
        match decoded.signature_len {
            Some(0) => "none".to_owned(),
            Some(len) => format!(
                "{len} bytes{}",
                if len == 32 { " (HMAC-SHA256 size)" } else { "" }
            ),
            None => "missing or not base64url".to_owned(),
        }
    );
    let claims = decoded.claims.as_ref().ok();
    if let Some(line) = claims
        .and_then(|claims| claims.get("expires"))
        .map(expiry_line)
    {
        let _ = writeln!(out, "{line}");
    }

    let domain = claims
        .and_then(|claims| claims.get("domain"))
        .and_then(Value::as_str);
    let name = network
        .network
        .clone()
        .or_else(|| domain.map(str::to_owned));
    let mut code = ExitCode::SUCCESS;
    match name {
        None => {
            let _ = writeln!(
                out,
                "verdict: not checked (no --network and no `domain` claim)"
            );
        }
        Some(name) => match key::key(network, &name)? {
            None => {
                let _ = writeln!(
                    out,
                    "verdict: not checked: no key for {name} (set LIVEFYRE_NETWORK_KEY or pass --key-file)"
                );
            }
            Some(key) => {
                let network = Network::new(name.clone(), key.bytes())
                    .map_err(|error| CliError::Usage(format!("network {name:?}: {error}")))?;
                let (valid, line) = verdict(&network, token);
                let _ = writeln!(out, "verdict: {line}");
                if !valid {
                    code = ExitCode::from(1);
                }
            }
        },
    }
    print!("{out}");
    Ok(code)
}

/// Whether `token` is a valid system token for `network`, and a line saying why.
fn verdict(network: &Network, token: &str) -> (bool, String) {
    let name = network.name();
    match network.validate_livefyre_token(token) {
        Ok(_) => (true, format!("valid system token for {name}")),
        Err(TokenError::Expired) => {
            // Expiry is checked last, so the rest held; say so.
            (
                false,
                format!("invalid: expired (signature, domain {name} and user `system` are right)"),
            )
        }
        Err(error) => (false, format!("invalid for {name}: {error}")),
    }
}

/// `expires: 1396655083 (Fri, 04 Apr 2014 23:44:43 GMT): EXPIRED 12 years ago`.
fn expiry_line(expires: &Value) -> String {
    let Some(seconds) = expires.as_f64() else {
        return format!("expires: {expires} is not a number (validators refuse it)");
    };
    if !(0.0..LATEST_PLAUSIBLE_EXPIRY).contains(&seconds) {
        return format!(
            "expires: {expires} is not a plausible Unix time (.NET ticks? a doc bug made those)"
        );
    }
    let at = UNIX_EPOCH + Duration::from_secs_f64(seconds);
    let date = httpdate::fmt_http_date(at);
    match SystemTime::now().duration_since(at) {
        Ok(ago) if ago > Duration::ZERO => {
            format!("expires: {expires} ({date}): EXPIRED {} ago", human(ago))
        }
        _ => {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
            format!(
                "expires: {expires} ({date}): not expired, {} left",
                human(left)
            )
        }
    }
}

fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", seconds / 60),
        7_200..172_800 => format!("{} h", seconds / 3_600),
        172_800..63_072_000 => format!("{} days", seconds / 86_400),
        _ => format!("{} years", seconds / 31_557_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let table = [
            (5, "5 s"),
            (600, "10 min"),
            (86_400, "24 h"),
            (864_000, "10 days"),
            (400_000_000, "12 years"),
        ];
        for (seconds, shown) in table {
            assert_eq!(human(Duration::from_secs(seconds)), shown);
        }
    }

    #[test]
    fn implausible_expiry_is_named() {
        assert!(expiry_line(&Value::from(6.0e17)).contains("not a plausible"));
        assert!(expiry_line(&Value::from("soon")).contains("not a number"));
        assert!(expiry_line(&Value::from(1_396_655_083)).contains("EXPIRED"));
    }
}
