//! Its own binary: it installs a global allocator that counts allocations.
//!
//! Heap allocations per request through `pull_endpoint`, counted exactly.
//!
//! Allocation counts are deterministic where timings are not, so they are what the normal
//! suite pins: an accepted pull must not allocate more than it does today beyond what the
//! profile source itself allocates, and a refusal hardly at all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;

use http::{Request, StatusCode};
use std::convert::Infallible;
use tower::{Service, ServiceExt};

use tower_livefyre::{
    Network, Profile, ProfileSource, UserId,
    profile::{EmailNotifications, Frequency, Name},
    pull_endpoint,
    source::profile_source_fn,
};

/// Counts the allocations of the current thread (the runtime below is single-threaded, and
/// other tests' threads do not disturb the count).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the counter may be gone already.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_in<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (ALLOCATIONS.with(Cell::get) - before, value)
}

fn profile() -> Profile {
    Profile::new("ann.lee".parse().unwrap(), "Ann Lee")
        .with_name(Name::new().with_first("Ann").with_last("Lee"))
        .with_email("ann.lee@example.com")
        .with_image_url("https://example.com/avatars/ann.lee.png")
        .with_profile_url("https://example.com/users/ann.lee")
        .with_tags(["staff", "early_adopter"])
        .with_email_notifications(
            EmailNotifications::new()
                .with_replies(Frequency::Immediately)
                .with_comments(Frequency::Often),
        )
}

/// Sends one pull through `endpoint` and counts the allocations until its response is gone.
fn pull_allocations<S>(
    runtime: &tokio::runtime::Runtime,
    endpoint: &mut S,
    token: &str,
) -> (usize, StatusCode)
where
    S: Service<Request<()>, Response = http::Response<http_body_util::Full<bytes::Bytes>>>,
    S::Error: std::fmt::Debug,
{
    let request = Request::get(format!("/livefyre/pull?id=ann.lee&lftoken={token}"))
        .body(())
        .unwrap();
    allocations_in(|| {
        let response = runtime.block_on(async {
            endpoint.ready().await.unwrap();
            endpoint.call(request).await.unwrap()
        });
        response.status()
    })
}

#[test]
fn allocations_per_pull() {
    let network = Network::new("labs.fyre.co", "labs-network-key").unwrap();
    let users = HashMap::from([("ann.lee".to_owned(), profile())]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A source that looks profiles up (and so hands out copies), as a database does.
    let stored = profile();
    let lookup = profile_source_fn(move |id: UserId| {
        let found = (id == stored.id).then(|| stored.clone());
        async move { Ok::<_, Infallible>(found) }
    });
    let ann: UserId = "ann.lee".parse().unwrap();
    let (by_lookup, _) = allocations_in(|| runtime.block_on(lookup.profile(&ann)));

    let mut in_memory = pull_endpoint(network.clone(), users);
    let mut looked_up = pull_endpoint(network.clone(), lookup);

    // The thread's first validation also prepares its HMAC verifier: warm up with another
    // token (one second later: other bytes).
    let warm_up = network
        .build_user_auth_token(
            &UserId::SYSTEM,
            "system",
            std::time::Duration::from_secs(86_401),
        )
        .unwrap();
    assert_eq!(
        pull_allocations(&runtime, &mut in_memory, &warm_up).1,
        StatusCode::OK
    );

    // Fill the thread's memory of valid tokens (8) with distinct tokens, so that the next
    // new token replaces one, as in a stream of tokens each seen for the first time.
    for n in 0..16 {
        let token = network
            .build_user_auth_token(
                &UserId::SYSTEM,
                "system",
                std::time::Duration::from_secs(90_000 + n),
            )
            .unwrap();
        assert_eq!(
            pull_allocations(&runtime, &mut in_memory, &token).1,
            StatusCode::OK
        );
    }

    let valid = network.build_livefyre_token().unwrap();
    // The first sight of a token validates it in full and remembers it.
    let (first, status) = pull_allocations(&runtime, &mut in_memory, &valid);
    assert_eq!(status, StatusCode::OK);
    let (again, status) = pull_allocations(&runtime, &mut in_memory, &valid);
    assert_eq!(status, StatusCode::OK);
    println!("in memory: {again} allocations, first sight of the token {first}");
    // The gate: the claims in the request extensions (map, table, box) and the URI without
    // the token (its string, then its `Bytes`; the original URI's parts are moved into it,
    // not cloned). The response, as any handler's: the JSON buffer, its `Bytes`, the header
    // map (2). The profile is lent.
    assert!(
        again <= 8,
        "an accepted in-memory pull allocates {again} times"
    );
    // A full validation: the claims (an `Arc` and one string holding the three texts). The
    // signature and payload are decoded on the stack, the HMAC state is cloned on the stack,
    // and the token is copied into the buffer of the one it replaces in the memory.
    assert!(first <= again + 2, "first sight {first} vs {again}");

    let (total, status) = pull_allocations(&runtime, &mut looked_up, &valid);
    assert_eq!(status, StatusCode::OK);
    let own = total - by_lookup;
    println!("looked up: {total} allocations, {by_lookup} of them by the source");
    // As above, plus the id handed to the source and the boxed lookup.
    assert!(
        own <= again + 2,
        "a looked-up pull allocates {own} times itself"
    );

    let forged = Network::new("labs.fyre.co", "another-key")
        .unwrap()
        .build_livefyre_token()
        .unwrap();
    let (refused, status) = pull_allocations(&runtime, &mut in_memory, &forged);
    assert_eq!(status, StatusCode::FORBIDDEN);
    println!("refused: {refused} allocations");
    // The rejection reason in the response extensions (map, table, box), nothing else.
    assert!(refused <= 3, "a refusal allocates {refused} times");
}
