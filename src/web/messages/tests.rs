use super::*;
use crate::web::format::show_bytes;

#[test]
fn times_parse_as_epoch_or_utc_dates() {
    assert_eq!(parse_time("1795000000000").unwrap(), 1_795_000_000_000);
    assert_eq!(parse_time("2026-11-18 11:06:40").unwrap(), 1_795_000_000_000);
    assert_eq!(parse_time("2000-02-29T00:00:00Z").unwrap(), 951_782_400_000);
    assert_eq!(parse_time("1970-01-01").unwrap(), 0);
    assert!(parse_time("yesterday").is_err());
    assert!(parse_time("2026-13-01").is_err());
}

#[test]
fn values_show_as_text_json_or_hex() {
    assert_eq!(show_bytes(b"{\"a\":1}", "json"), "{\n  \"a\": 1\n}");
    assert_eq!(show_bytes(b"not json", "json"), "not json");
    assert_eq!(show_bytes(&[0, 255, 16], "hex"), "00 ff 10");
    assert_eq!(show_bytes("héllo".as_bytes(), "text"), "héllo");
}

#[test]
fn browse_queries_read_every_start() {
    let q = |from: &str, at: &str| BrowseQuery {
        from: Some(from.into()),
        at: Some(at.into()),
        partition: Some("0, 2".into()),
        ..BrowseQuery::default()
    };
    assert_eq!(q("latest", "").request().unwrap().start, Start::Latest(20));
    assert_eq!(q("latest", "5").request().unwrap().start, Start::Latest(5));
    assert_eq!(q("offset", "42").request().unwrap().start, Start::Offset(42));
    assert_eq!(q("earliest", "").request().unwrap().partitions, Some(vec![0, 2]));
    assert!(q("offset", "").request().is_err());
    assert!(q("sideways", "").request().is_err());
}
