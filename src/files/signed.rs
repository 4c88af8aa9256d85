//! Signed download URLs: what lets an `<img src>` load a file without a token in the URL.
//!
//! A URL names the file, the variant, an expiry and the person it was minted for, and carries an
//! HMAC-SHA256 of those under a server key. The server still checks, at download time, that
//! this person may see the file: a URL minted before someone left a chat stops working when they
//! leave. Avatar URLs are the exception: they name no person and do not expire, and they work
//! while the file is someone's avatar (profile photos are shown to whoever sees the profile).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Variant;
use crate::domain::{FileId, Timestamp, UserId};

/// The signing key and lifetime; cheap to clone.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
    ttl_secs: u64,
}

/// Who a valid signature lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The person the URL was minted for (their access is checked again).
    Viewer(UserId),
    /// Anyone, while the file is an avatar.
    Avatar,
}

/// The signature part of a download URL's query.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Signature {
    /// Expiry, seconds since the epoch.
    pub exp: Option<i64>,
    /// The person the URL was minted for.
    pub uid: Option<String>,
    /// `1` on avatar URLs.
    pub avatar: Option<String>,
    pub sig: Option<String>,
}

impl UrlSigner {
    pub fn new(key: &str, ttl_secs: u64) -> Self {
        UrlSigner {
            key: key.as_bytes().to_vec(),
            ttl_secs,
        }
    }

    /// A URL of `variant` of `id` for `viewer`, valid for the configured lifetime.
    pub fn url(&self, id: FileId, variant: Variant, viewer: UserId) -> String {
        let exp = Timestamp::now().millis() / 1000 + self.ttl_secs as i64;
        let sig = self.sign(id, variant, &viewer.to_string(), exp);
        format!("{}?exp={exp}&uid={viewer}&sig={sig}", path(id, variant))
    }

    /// The stable URL of an avatar's square thumbnail.
    pub fn avatar_url(&self, id: FileId) -> String {
        let sig = self.sign(id, Variant::Thumbnail, "avatar", 0);
        format!("{}?avatar=1&sig={sig}", path(id, Variant::Thumbnail))
    }

    /// Who the signature in `query` lets in, if it is valid and unexpired.
    pub fn verify(&self, id: FileId, variant: Variant, query: &Signature) -> Option<Grant> {
        let sig = hex::decode(query.sig.as_deref()?).ok()?;
        if query.avatar.as_deref() == Some("1") {
            return self
                .mac(id, Variant::Thumbnail, "avatar", 0)
                .verify_slice(&sig)
                .ok()
                .filter(|()| variant == Variant::Thumbnail)
                .map(|()| Grant::Avatar);
        }
        let (exp, uid) = (query.exp?, query.uid.as_deref()?);
        if exp < Timestamp::now().millis() / 1000 {
            return None;
        }
        self.mac(id, variant, uid, exp).verify_slice(&sig).ok()?;
        UserId::parse(uid).map(Grant::Viewer)
    }

    fn sign(&self, id: FileId, variant: Variant, who: &str, exp: i64) -> String {
        hex::encode(self.mac(id, variant, who, exp).finalize().into_bytes())
    }

    fn mac(&self, id: FileId, variant: Variant, who: &str, exp: i64) -> Hmac<Sha256> {
        // The key is any length; HMAC accepts every key, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{id}\n{}\n{who}\n{exp}", variant.as_str()).as_bytes());
        mac
    }
}

fn path(id: FileId, variant: Variant) -> String {
    match variant {
        Variant::Original => format!("/api/files/{id}"),
        Variant::Thumbnail => format!("/api/files/{id}/thumbnail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> Signature {
        let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let mut sig = Signature::default();
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or_default();
            let v = Some(v.to_owned());
            match k {
                "exp" => sig.exp = v.and_then(|v| v.parse().ok()),
                "uid" => sig.uid = v,
                "avatar" => sig.avatar = v,
                "sig" => sig.sig = v,
                _ => {}
            }
        }
        sig
    }

    #[test]
    fn a_signature_holds_only_for_its_file_variant_and_viewer() {
        let signer = UrlSigner::new("k", 60);
        let (file, viewer) = (FileId::new(), UserId::new());
        let url = signer.url(file, Variant::Original, viewer);
        let q = query(&url);
        assert_eq!(
            signer.verify(file, Variant::Original, &q),
            Some(Grant::Viewer(viewer))
        );
        assert_eq!(signer.verify(file, Variant::Thumbnail, &q), None);
        assert_eq!(signer.verify(FileId::new(), Variant::Original, &q), None);
        let mut forged = query(&url);
        forged.uid = Some(UserId::new().to_string());
        assert_eq!(signer.verify(file, Variant::Original, &forged), None);
        let mut late = query(&url);
        late.exp = Some(1);
        assert_eq!(signer.verify(file, Variant::Original, &late), None);
        assert_eq!(
            UrlSigner::new("other", 60).verify(file, Variant::Original, &q),
            None
        );
    }

    #[test]
    fn avatar_urls_open_only_the_thumbnail() {
        let signer = UrlSigner::new("k", 60);
        let file = FileId::new();
        let q = query(&signer.avatar_url(file));
        assert_eq!(
            signer.verify(file, Variant::Thumbnail, &q),
            Some(Grant::Avatar)
        );
        assert_eq!(signer.verify(file, Variant::Original, &q), None);
    }
}
