use super::*;
use crate::protocol::Channel;

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tickwire-record-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn header() -> Header {
    Header {
        instruments: Instruments::embedded_default(),
        seed: Some(9),
        start: 1_000,
        snapshot_every_s: 10,
    }
}

fn write_sample(path: &std::path::Path) {
    let mut w = RecordWriter::create(path).expect("create");
    w.write_header(&header()).expect("header");
    w.write_message(1_001, "trades:BTC-USD", br#"{"type":"trade","seq":1}"#)
        .expect("write");
    w.write_snapshot(
        1_002,
        "book:ETH-USD",
        br#"{"type":"book_snapshot","seq":0}"#,
    )
    .expect("write");
    w.write_message(
        1_003,
        "candles_1m:AAPL",
        br#"{"type":"candle", "spaced" : 1}"#,
    )
    .expect("write");
    w.flush().expect("flush");
}

#[test]
fn what_is_written_reads_back_byte_for_byte() {
    for name in ["sample.jsonl", "sample.jsonl.zst"] {
        let path = temp(name);
        write_sample(&path);
        let mut recording = open(&path).expect("open");
        assert_eq!(recording.header.seed, Some(9));
        assert_eq!(recording.header.instruments.len(), 4);
        assert_eq!(
            recording.header.instruments.get("BTC-USD"),
            Instruments::embedded_default().get("BTC-USD")
        );
        let entries: Vec<Entry> = recording
            .by_ref()
            .collect::<Result<_, _>>()
            .expect("entries");
        assert_eq!(entries.len(), 3);
        assert_eq!(
            (
                entries[0].line,
                entries[0].ts,
                entries[0].symbol,
                entries[0].channel
            ),
            (2, 1_001, 0, Channel::Trades)
        );
        assert!(
            entries[1].snapshot && entries[1].channel == Channel::Book && entries[1].symbol == 1
        );
        assert_eq!(
            entries[2].json, r#"{"type":"candle", "spaced" : 1}"#,
            "exact bytes, spaces and all"
        );
        assert!(recording.truncated.is_none());
    }
}

#[test]
fn a_cut_last_line_ends_the_recording_with_a_warning() {
    let path = temp("cut.jsonl");
    write_sample(&path);
    let text = std::fs::read(&path).expect("read");
    std::fs::write(&path, &text[..text.len() - 10]).expect("write");
    let mut recording = open(&path).expect("open");
    assert_eq!(recording.by_ref().count(), 2);
    let warning = recording.truncated.expect("a warning");
    assert!(
        warning.ends_with("cut.jsonl:4: the last line is cut short; the recording ends at line 3"),
        "{warning}"
    );

    // A compressed recording cut short: what decompresses is replayed.
    let path = temp("cut.jsonl.zst");
    let mut w = RecordWriter::create(&path).expect("create");
    w.write_header(&header()).expect("header");
    for seq in 1..=20_000u64 {
        let message = format!(
            "{{\"type\":\"trade\",\"seq\":{seq},\"pad\":\"{}\"}}",
            seq * 7919 % 100_003
        );
        w.write_message(1_000 + seq, "trades:BTC-USD", message.as_bytes())
            .expect("write");
    }
    drop(w);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let mut recording = open(&path).expect("open");
    let read: Vec<Entry> = recording
        .by_ref()
        .collect::<Result<_, _>>()
        .expect("whole lines only");
    assert!(
        read.len() > 1_000 && read.len() < 20_000,
        "{} entries",
        read.len()
    );
    assert!(
        read.iter()
            .enumerate()
            .all(|(i, e)| e.json.contains(&format!("\"seq\":{},", i + 1)))
    );
    assert!(recording.truncated.is_some());
    // Cut before the end of the header: an error, not an empty recording.
    std::fs::write(&path, &bytes[..20]).expect("write");
    let e = open(&path).err().expect("an error").to_string();
    assert!(
        e.contains("cut.jsonl.zst") && e.contains("ends early"),
        "{e}"
    );
}

fn error_of(text: &str) -> String {
    let path = temp("bad.jsonl");
    std::fs::write(&path, text).expect("write");
    match open(&path) {
        Err(e) => e.to_string(),
        Ok(recording) => match recording.collect::<Result<Vec<_>, _>>() {
            Err(e) => e.to_string(),
            Ok(entries) => panic!("no error, {} entries", entries.len()),
        },
    }
}

#[test]
fn bad_files_say_which_line_and_what_is_wrong() {
    let path = temp("good.jsonl");
    write_sample(&path);
    let good = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = good.lines().collect();
    let with = |n: usize, replacement: &str| {
        let mut l = lines.clone();
        l[n] = replacement;
        l.join("\n") + "\n"
    };
    let e = error_of(&good.replacen("\"version\":1", "\"version\":2", 1));
    assert!(
        e.ends_with("bad.jsonl:1: version 2 is not supported (this tickwire reads version 1)"),
        "{e}"
    );
    let e = error_of("");
    assert!(e.ends_with("bad.jsonl:1: empty file: no header"), "{e}");
    let e = error_of("hello\n");
    assert!(
        e.contains("bad.jsonl:1: not a tickwire recording header"),
        "{e}"
    );
    let e = error_of(&with(
        2,
        "{\"ts\":5,\"stream\":\"book:BTC-USD\",\"msg\":{oops}",
    ));
    assert!(e.contains("bad.jsonl:3: not a recording entry"), "{e}");
    let e = error_of(&with(1, r#"{"ts":5,"stream":"book:DOGE","msg":{}}"#));
    assert!(
        e.ends_with("bad.jsonl:2: unknown symbol \"DOGE\" (not among the header's instruments)"),
        "{e}"
    );
    let e = error_of(&with(1, r#"{"ts":5,"stream":"orders:BTC-USD","msg":{}}"#));
    assert!(
        e.ends_with("bad.jsonl:2: unknown channel \"orders\""),
        "{e}"
    );
    let e = error_of(&with(1, r#"{"ts":5,"stream":"book:BTC-USD"}"#));
    assert!(
        e.ends_with(
            "bad.jsonl:2: an entry has exactly one of \"msg\", \"snapshot\" and \"warning\""
        ),
        "{e}"
    );
    let e = error_of(&good.replacen("\"tick_size\":\"0.01\"", "\"tick_size\":\"0.001\"", 1));
    assert!(
        e.contains("bad.jsonl:1: instrument BTC-USD: tick_size"),
        "{e}"
    );
}

#[test]
fn stream_names_round_trip() {
    for channel in Channel::ALL {
        let name = stream_name(channel, "BTC-USD");
        let (channel_part, symbol) = name.split_once(':').expect("colon");
        assert_eq!(
            (channel_named(channel_part), symbol),
            (Some(channel), "BTC-USD")
        );
    }
}
