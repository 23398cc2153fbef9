//! Decoding of a consumer group member's assignment (Kafka's ConsumerProtocolAssignment):
//! `version: i16, [topic: string16, [partition: i32]], user_data: bytes32`. Input comes from the
//! network, so every length is checked and a malformed assignment is an error, never a panic.

/// `(topic, partitions)` pairs, in the order the broker sent them.
pub type Assignment = Vec<(String, Vec<i32>)>;

/// Longest list a well-formed assignment can hold; guards allocations against garbage input.
const MAX_ITEMS: i32 = 1_000_000;

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err(format!(
                "assignment ends early: wanted {n} more bytes, {} left",
                self.bytes.len()
            ));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().map_err(|_| "short i16")?))
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().map_err(|_| "short i32")?))
    }

    fn count(&mut self) -> Result<usize, String> {
        match self.i32()? {
            -1 => Ok(0),
            n if (0..=MAX_ITEMS).contains(&n) => Ok(n as usize),
            n => Err(format!("assignment has an impossible count {n}")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.i16()?;
        if len < 0 {
            return Err("assignment has a null topic name".into());
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| "assignment has a topic name that is not UTF-8".into())
    }
}

/// Decodes a member's assignment; empty input (a member without assignment yet) is empty.
pub fn decode(bytes: &[u8]) -> Result<Assignment, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = Reader { bytes };
    let _version = reader.i16()?;
    let topics = reader.count()?;
    let mut assignment = Vec::with_capacity(topics.min(1024));
    for _ in 0..topics {
        let topic = reader.string()?;
        let partitions = reader.count()?;
        let mut ids = Vec::with_capacity(partitions.min(4096));
        for _ in 0..partitions {
            ids.push(reader.i32()?);
        }
        assignment.push((topic, ids));
    }
    // User data follows; Osprey has no use for it.
    Ok(assignment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(version: i16, topics: &[(&str, &[i32])], user_data: &[u8]) -> Vec<u8> {
        let mut out = version.to_be_bytes().to_vec();
        out.extend((topics.len() as i32).to_be_bytes());
        for (topic, partitions) in topics {
            out.extend((topic.len() as i16).to_be_bytes());
            out.extend(topic.as_bytes());
            out.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                out.extend(p.to_be_bytes());
            }
        }
        out.extend((user_data.len() as i32).to_be_bytes());
        out.extend(user_data);
        out
    }

    #[test]
    fn decodes_topics_and_partitions() {
        let bytes = encode(3, &[("orders", &[0, 2]), ("payments", &[1])], b"sticky");
        assert_eq!(
            decode(&bytes).unwrap(),
            vec![("orders".to_owned(), vec![0, 2]), ("payments".to_owned(), vec![1])]
        );
        assert_eq!(decode(&[]).unwrap(), vec![]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode(0, &[("orders", &[0, 1, 2])], b"");
        // The user data length (last 4 bytes) is optional to us; cut anywhere before it.
        for cut in 1..bytes.len() - 4 {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn garbage_counts_are_rejected_without_allocating() {
        let mut bytes = 0i16.to_be_bytes().to_vec();
        bytes.extend(i32::MAX.to_be_bytes());
        assert!(decode(&bytes).unwrap_err().contains("impossible count"));
        let mut negative = 0i16.to_be_bytes().to_vec();
        negative.extend((-5i32).to_be_bytes());
        assert!(decode(&negative).is_err());
    }

    #[test]
    fn pseudo_random_input_never_panics() {
        let mut state: u32 = 0x9E37_79B9;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state % 7) as u8 // small bytes make plausible lengths
                })
                .collect();
            let _ = decode(&bytes);
        }
    }
}
