use super::*;

/// Every frame in `bytes`, which must hold whole frames only.
fn frames(mut bytes: &[u8], frame_max: u32) -> Vec<Frame> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (frame, used) = decode_frame(bytes, frame_max).unwrap().expect("a whole frame");
        out.push(frame);
        bytes = &bytes[used..];
    }
    out
}

fn method(class: u16, method: u16, arguments: Writer) -> Frame {
    Frame::Method { channel: CHANNEL, class, method, arguments: arguments.0 }
}

#[test]
fn a_frame_is_read_once_whole_and_refused_when_malformed() {
    let bytes = method_frame(CHANNEL, CONFIRM, 11, Writer::default());
    assert_eq!(bytes, [1, 0, 1, 0, 0, 0, 4, 0, 85, 0, 11, 0xCE]);
    for cut in 0..bytes.len() {
        assert_eq!(decode_frame(&bytes[..cut], FRAME_MAX), Ok(None), "{cut} bytes");
    }
    let (frame, used) =
        decode_frame(&[bytes.clone(), vec![8]].concat(), FRAME_MAX).unwrap().unwrap();
    assert_eq!((frame, used), (method(CONFIRM, 11, Writer::default()), bytes.len()));

    let mut unended = bytes.clone();
    *unended.last_mut().unwrap() = 0;
    assert!(decode_frame(&unended, FRAME_MAX).unwrap_err().contains("0xCE"));
    let huge = [1, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0];
    assert_eq!(
        decode_frame(&huge, FRAME_MAX).unwrap_err(),
        "a frame of 2147483647 bytes, more than the 131072 agreed"
    );
    assert!(decode_frame(b"AMQP\x00\x00\x09\x00", FRAME_MAX).unwrap_err().contains("version"));
    assert!(decode_frame(&[9, 0, 0, 0, 0, 0, 0, 0xCE], FRAME_MAX).unwrap_err().contains("type 9"));
    let short_method = [1, 0, 1, 0, 0, 0, 1, 0, 0xCE];
    assert!(decode_frame(&short_method, FRAME_MAX).unwrap_err().contains("shorter"));
}

#[test]
fn a_publish_is_a_method_a_header_and_bodies_that_fit_the_frame_size() {
    let body = vec![7u8; 25];
    let written = frames(&publish_frames("osprey.canary", &body, 18), FRAME_MAX);
    let arguments = Writer::default().u16(0).short("").short("osprey.canary").u8(1);
    assert_eq!(written[0], method(BASIC, 40, arguments));
    assert_eq!(written[1], Frame::Header { channel: CHANNEL, body_size: 25 });
    let pieces: Vec<usize> = written[2..]
        .iter()
        .map(|f| match f {
            Frame::Body { bytes, .. } => bytes.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(pieces, [10, 10, 5], "frame_max 18 leaves 10 bytes a body frame");
    let empty = frames(&publish_frames("q", b"", FRAME_MAX), FRAME_MAX);
    assert_eq!(empty.len(), 2, "no body frame for an empty body");
}

#[test]
fn deliveries_returns_and_confirms_are_put_together_from_their_frames() {
    let mut assembler = Assembler::default();
    let header = |size| Frame::Header { channel: CHANNEL, body_size: size };
    let body = |bytes: &[u8]| Frame::Body { channel: CHANNEL, bytes: bytes.to_vec() };
    let deliver = Writer::default().short("ctag").u64(1).u8(0).short("").short("q");
    assert_eq!(assembler.take(method(BASIC, 60, deliver)), Ok(None));
    assert_eq!(assembler.take(header(5)), Ok(None));
    assert_eq!(assembler.take(body(b"mar")), Ok(None));
    assert_eq!(assembler.take(body(b"ks")), Ok(Some(Event::Delivered { body: b"marks".to_vec() })));
    let nothing = Writer::default().short("ctag").u64(2).u8(0).short("").short("q");
    assert_eq!(assembler.take(method(BASIC, 60, nothing)), Ok(None));
    assert_eq!(assembler.take(header(0)), Ok(Some(Event::Delivered { body: vec![] })));

    let returned = Writer::default().u16(312).short("NO_ROUTE").short("").short("q");
    assert_eq!(assembler.take(method(BASIC, 50, returned)), Ok(None));
    assert_eq!(assembler.take(header(1)), Ok(None));
    assert_eq!(
        assembler.take(body(b"x")),
        Ok(Some(Event::Returned { reason: "312 NO_ROUTE".into() }))
    );
    let ack = Writer::default().u64(9).u8(1);
    assert_eq!(
        assembler.take(method(BASIC, 80, ack)),
        Ok(Some(Event::Confirmed { tag: 9, multiple: true, taken: true }))
    );
    let nack = Writer::default().u64(10).u8(0b10);
    assert_eq!(
        assembler.take(method(BASIC, 120, nack)),
        Ok(Some(Event::Confirmed { tag: 10, multiple: false, taken: false }))
    );
    let close = Writer::default().u16(404).short("NOT_FOUND - no queue").u16(60).u16(20);
    assert_eq!(
        assembler.take(method(CHANNEL_CLASS, 40, close)),
        Ok(Some(Event::Closed {
            reason: "the broker closed the channel: 404 NOT_FOUND - no queue".into()
        }))
    );
    assert_eq!(assembler.take(Frame::Heartbeat), Ok(None));
}

#[test]
fn a_stranger_message_is_kept_short_and_out_of_order_frames_are_errors() {
    let mut assembler = Assembler::default();
    let deliver = Writer::default().short("ctag").u64(1).u8(0).short("").short("q");
    assembler.take(method(BASIC, 60, deliver)).unwrap();
    let size = 3 * BODY_KEPT as u64;
    assembler.take(Frame::Header { channel: CHANNEL, body_size: size }).unwrap();
    let mut last = None;
    for _ in 0..3 {
        last = assembler.take(Frame::Body { channel: CHANNEL, bytes: vec![1; BODY_KEPT] }).unwrap();
    }
    assert_eq!(last, Some(Event::Delivered { body: vec![1; BODY_KEPT] }));

    let body = Frame::Body { channel: CHANNEL, bytes: vec![1] };
    assert!(Assembler::default().take(body.clone()).unwrap_err().contains("without its header"));
    let header = Frame::Header { channel: CHANNEL, body_size: 1 };
    assert!(Assembler::default().take(header).unwrap_err().contains("without its method"));
    let mut long = Assembler::default();
    let deliver = Writer::default().short("ctag").u64(1).u8(0).short("").short("q");
    long.take(method(BASIC, 60, deliver)).unwrap();
    long.take(Frame::Header { channel: CHANNEL, body_size: 0 }).unwrap();
    assert!(long.take(body).unwrap_err().contains("without its header"), "already complete");
    let mut overlong = Assembler::default();
    overlong.take(method(BASIC, 60, Writer::default())).unwrap();
    overlong.take(Frame::Header { channel: CHANNEL, body_size: 1 }).unwrap();
    let two = Frame::Body { channel: CHANNEL, bytes: vec![1, 2] };
    assert!(overlong.take(two).unwrap_err().contains("longer"));
    let mut interrupted = Assembler::default();
    interrupted.take(method(BASIC, 60, Writer::default())).unwrap();
    let ack = Writer::default().u64(1).u8(0);
    assert!(interrupted.take(method(BASIC, 80, ack)).unwrap_err().contains("middle"));
}

/// Every event in bytes recorded from a real RabbitMQ (fuzz/capture/amqp.py).
fn recorded(name: &str) -> Vec<Event> {
    let path = format!("{}/fuzz/seeds/amqp_frames/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    let mut assembler = Assembler::default();
    frames(&bytes, FRAME_MAX).into_iter().filter_map(|f| assembler.take(f).unwrap()).collect()
}

#[test]
fn a_recorded_session_reads_as_confirms_a_return_and_deliveries() {
    // A consumer on a queue, then three publishes: a marker, one to no queue, 131,100 bytes.
    let events = recorded("traffic");
    let kinds: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Confirmed { .. } => None,
            Event::Delivered { body } => Some(format!("delivered {}", body.len())),
            Event::Returned { reason } => Some(format!("returned {reason}")),
            other => Some(format!("{other:?}")),
        })
        .collect();
    assert_eq!(
        kinds,
        ["returned 312 NO_ROUTE", "delivered 23", "delivered 4096"],
        "the big message kept to its first 4096 bytes"
    );
    assert!(events.contains(&Event::Delivered { body: b"osprey-canary token 1 0".to_vec() }));
    let acked = events.iter().filter_map(|e| match e {
        Event::Confirmed { tag, taken: true, .. } => Some(*tag),
        _ => None,
    });
    assert_eq!(acked.max(), Some(3), "every publish confirmed: {events:?}");
    let refused = recorded("refused");
    assert!(
        matches!(&refused[..], [Event::Closed { reason }] if reason.contains("403 ACCESS_REFUSED")),
        "{refused:?}"
    );
}
