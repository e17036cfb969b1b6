//! `Profile` from arbitrary JSON bytes, then `validate`; a valid profile survives a
//! serialize/parse round trip unchanged, validates again, and serializes canonically.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_livefyre::Profile;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = serde_json::from_slice::<Profile>(data) else {
        return;
    };
    if profile.validate().is_err() {
        return;
    }
    let json = serde_json::to_vec(&profile).expect("a profile serializes");
    let again: Profile = serde_json::from_slice(&json).expect("a serialized profile parses");
    assert_eq!(
        again,
        profile,
        "round trip of {}",
        String::from_utf8_lossy(&json)
    );
    assert_eq!(again.validate(), Ok(()));
    assert_eq!(serde_json::to_vec(&again).unwrap(), json);
});
