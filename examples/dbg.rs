use palisade::{Context, Guard, Pipeline};
use std::time::Instant;
fn main() {
    let p = "Hi! I'm planning a two-week trip to Portugal in late September with my partner. We like hiking, small seaside towns and good food, but we don't want to rent a car. Could you suggest an itinerary that starts in Lisbon and ends in Porto, with train or bus connections between each stop, a rough daily budget, and one or two restaurants per town? ";
    let mut s = String::new();
    while s.len() < 65536 {
        s.push_str(p);
    }
    s.truncate(65536);
    let g = Pipeline::recommended();
    let n = 50;
    let mut tot = std::collections::BTreeMap::new();
    let t0 = Instant::now();
    for _ in 0..n {
        let v = g.check_input(&Context::new(), &s);
        for t in v.timings() {
            *tot.entry(t.detector.to_string()).or_insert(0.0) +=
                t.duration.as_secs_f64() * 1e6 / n as f64;
        }
    }
    println!(
        "total {:.1} us",
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    println!("{:?}", tot);
    let t0 = Instant::now();
    for _ in 0..n {
        let t = palisade::text::Text::new(&s, &Default::default());
        std::hint::black_box(&t);
    }
    println!(
        "text new {:.1} us",
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t0 = Instant::now();
    for _ in 0..n {
        let t = palisade::text::Text::new(&s, &Default::default());
        std::hint::black_box(t.layers()[0].folded());
    }
    println!(
        "text new+fold {:.1} us",
        t0.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
