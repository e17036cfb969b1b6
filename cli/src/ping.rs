//! `livefyre ping` and `livefyre register`, through the library's `PingClient`.

use std::process::ExitCode;

use tower_livefyre::PingClient;

use crate::args::{ApiArgs, NetworkArgs, PingArgs, RegisterArgs};
use crate::error::CliError;
use crate::key::{self, DEMO_NETWORK};

/// Pings in flight at once.
const CONCURRENCY: usize = 4;

/// `livefyre ping ID...`: one line per id; exit 1 when any ping failed.
pub async fn ping(args: PingArgs) -> Result<ExitCode, CliError> {
    let ids = args.ids;
    let client = client(&args.network, &args.api)?;
    let mut failed = 0usize;
    for (id, outcome) in client.sync_users(ids, CONCURRENCY).await {
        match outcome {
            Ok(()) => println!("{id}: pinged"),
            Err(error) => {
                failed += 1;
                println!("{id}: failed: {error}");
            }
        }
    }
    if failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::Failed(format!("{failed} ping(s) failed")))
    }
}

/// `livefyre register URL_TEMPLATE`: registers the template with Livefyre (or the emulator).
pub async fn register(args: RegisterArgs) -> Result<ExitCode, CliError> {
    let template = args.template;
    let client = client(&args.network, &args.api)?;
    client
        .set_user_sync_url(&template)
        .await
        .map_err(|error| CliError::Failed(format!("registration failed: {error}")))?;
    println!(
        "registered {} for {} at {}",
        template.as_str(),
        network_label(&args.network),
        client.base_url_str()
    );
    Ok(ExitCode::SUCCESS)
}

fn client(network: &NetworkArgs, api: &ApiArgs) -> Result<PingClient, CliError> {
    let credentials = key::credentials(network, Some(DEMO_NETWORK))?;
    let client = PingClient::new(credentials.network)
        .map_err(|error| CliError::Usage(format!("cannot set up the HTTPS client: {error}")))?;
    match &api.api_url {
        Some(url) => client
            .base_url(url)
            .map_err(|error| CliError::Usage(format!("--api-url {url:?}: {error}"))),
        None => Ok(client),
    }
}

fn network_label(network: &NetworkArgs) -> &str {
    network.network.as_deref().unwrap_or(DEMO_NETWORK)
}
