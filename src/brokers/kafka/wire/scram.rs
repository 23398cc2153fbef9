//! The client side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka's SASL
//! uses it: pure, so the exchange is tested on the RFC's own example.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

/// Iteration counts above this are refused: a broker asking for millions would stall the poll.
const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            ScramHash::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// Hi() of RFC 5802: PBKDF2 with this HMAC, one block.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut block = self.hmac(password, &[salt, &1u32.to_be_bytes()]);
        let mut result = block.clone();
        for _ in 1..iterations {
            block = self.hmac(password, &[&block]);
            result.iter_mut().zip(&block).for_each(|(r, b)| *r ^= b);
        }
        result
    }
}

/// A SCRAM exchange in progress, after the client's first message.
pub struct Scram {
    hash: ScramHash,
    password: String,
    nonce: String,
    first_bare: String,
}

/// What the client sends second, and the server signature its last answer must carry.
#[derive(Debug)]
pub struct ClientFinal {
    pub message: String,
    server_signature: Vec<u8>,
}

fn attribute(message: &str, key: char) -> Option<&str> {
    message.split(',').find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

impl Scram {
    /// Starts an exchange; the first message goes to the broker as it is.
    pub fn start(hash: ScramHash, username: &str, password: &str, nonce: &str) -> (Scram, String) {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        let first_bare = format!("n={name},r={nonce}");
        let first = format!("n,,{first_bare}");
        let scram =
            Scram { hash, password: password.to_owned(), nonce: nonce.to_owned(), first_bare };
        (scram, first)
    }

    /// The client's final message for the broker's first answer.
    pub fn answer(&self, server_first: &str) -> Result<ClientFinal, String> {
        if let Some(error) = attribute(server_first, 'e') {
            return Err(format!("the broker refused the login: {error}"));
        }
        let nonce = attribute(server_first, 'r').ok_or("no nonce in the broker's answer")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("the broker's nonce does not extend ours".into());
        }
        let salt = BASE64
            .decode(attribute(server_first, 's').ok_or("no salt in the broker's answer")?)
            .map_err(|e| format!("unreadable salt: {e}"))?;
        let iterations: u32 = attribute(server_first, 'i')
            .and_then(|i| i.parse().ok())
            .filter(|i| (1..=MAX_ITERATIONS).contains(i))
            .ok_or("missing or unreasonable iteration count in the broker's answer")?;
        let salted = self.hash.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = self.hash.hmac(&salted, &[b"Client Key"]);
        let stored_key = self.hash.digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let signature = self.hash.hmac(&stored_key, &[auth_message.as_bytes()]);
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = self.hash.hmac(&salted, &[b"Server Key"]);
        Ok(ClientFinal {
            message: format!("{without_proof},p={}", BASE64.encode(proof)),
            server_signature: self.hash.hmac(&server_key, &[auth_message.as_bytes()]),
        })
    }
}

impl ClientFinal {
    /// Checks the broker's last answer: it proves the broker knows the password too.
    pub fn verify(&self, server_final: &str) -> Result<(), String> {
        if let Some(error) = attribute(server_final, 'e') {
            return Err(format!("the broker refused the login: {error}"));
        }
        let signature =
            attribute(server_final, 'v').ok_or("no signature in the broker's answer")?;
        match BASE64.decode(signature) {
            Ok(signature) if signature == self.server_signature => Ok(()),
            _ => Err("the broker's signature does not match: it does not know the password".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn the_rfc_7677_exchange_for_sha_256() {
        let (scram, first) =
            Scram::start(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let last = scram.answer(server_first).unwrap();
        assert_eq!(
            last.message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(last.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), Ok(()));
        assert!(last.verify("v=AAAA").is_err());
    }

    #[test]
    fn names_are_escaped_and_bad_answers_refused() {
        let (scram, first) = Scram::start(ScramHash::Sha512, "a=b,c", "p", "nonce");
        assert_eq!(first, "n,,n=a=3Db=2Cc,r=nonce");
        assert!(scram.answer("e=invalid-proof").unwrap_err().contains("invalid-proof"));
        assert!(scram.answer("r=other,s=AAAA,i=4096").is_err(), "a nonce not ours");
        assert!(scram.answer("r=nonceX,s=AAAA,i=0").is_err());
        assert!(scram.answer("r=nonceX,s=AAAA,i=99999999").is_err());
        let last = scram.answer("r=nonceX,s=AAAA,i=2").unwrap();
        assert!(last.message.starts_with("c=biws,r=nonceX,p="));
        assert!(last.verify("e=other-error").is_err());
    }
}
