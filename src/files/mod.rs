//! Blob storage: where the bytes of uploaded files live, behind one interface ([`Blobs`]).
//!
//! The local disk under `<data_dir>/files/` by default; S3-compatible object storage through
//! `object_store` when `[files.s3] bucket` is set. Objects are named by server-generated ids
//! (`files/<id>`, `thumbs/<id>`), never by what the uploader called them. The pure parts of
//! handling an upload live beside it: [`sniff`] (what the bytes are), [`duration`] (how long
//! audio and video play), [`images`] (decode, strip, thumbnail) and [`signed`] (URLs an `<img>`
//! can load without a token).

pub mod duration;
pub mod images;
pub mod signed;
pub mod sniff;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

use crate::config::Config;
use crate::domain::FileId;

/// Parts of a multipart upload: S3 needs at least 5 MiB per part but the last; the local disk
/// takes small ones, which keeps memory low.
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
const LOCAL_PART_BYTES: usize = 1024 * 1024;

/// Which object of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Thumbnail => "thumbnail",
        }
    }

    fn key(self, id: FileId) -> ObjectPath {
        match self {
            Variant::Original => ObjectPath::from(format!("files/{id}")),
            Variant::Thumbnail => ObjectPath::from(format!("thumbs/{id}")),
        }
    }
}

/// Handle to the blob store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    part_bytes: usize,
}

impl Blobs {
    /// S3 when a bucket is configured, else the local disk.
    pub fn from_config(config: &Config) -> anyhow::Result<Blobs> {
        let s3 = &config.files.s3;
        let part_bytes = if s3.bucket.is_empty() {
            LOCAL_PART_BYTES
        } else {
            S3_PART_BYTES
        };
        let store: Arc<dyn ObjectStore> = if s3.bucket.is_empty() {
            let dir = config.storage.data_dir.join("files");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            Arc::new(LocalFileSystem::new_with_prefix(&dir)?)
        } else {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(&s3.bucket)
                .with_region(&s3.region)
                .with_access_key_id(&s3.access_key_id)
                .with_secret_access_key(s3.secret_access_key.expose())
                .with_allow_http(s3.allow_http);
            if !s3.endpoint.is_empty() {
                builder = builder.with_endpoint(&s3.endpoint);
            }
            Arc::new(builder.build().context("configuring S3 storage")?)
        };
        Ok(Blobs { store, part_bytes })
    }

    /// Copies a local file into the store in parts, never holding it whole in memory.
    pub async fn put_file(&self, id: FileId, variant: Variant, path: &Path) -> anyhow::Result<()> {
        let upload = self.store.put_multipart(&variant.key(id)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_bytes);
        let mut file = tokio::fs::File::open(path).await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Stores a small object (a thumbnail) in one request.
    pub async fn put_bytes(
        &self,
        id: FileId,
        variant: Variant,
        bytes: Vec<u8>,
    ) -> anyhow::Result<()> {
        self.store.put(&variant.key(id), bytes.into()).await?;
        Ok(())
    }

    /// The object's total size and the bytes of `range` (all of them when `None`) as a stream.
    pub async fn get(
        &self,
        id: FileId,
        variant: Variant,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<(u64, BoxStream<'static, anyhow::Result<Bytes>>)> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&variant.key(id), options).await?;
        let size = result.meta.size;
        Ok((size, result.into_stream().map(|chunk| Ok(chunk?)).boxed()))
    }

    /// Removes both objects of a file; missing ones are not an error.
    pub async fn delete(&self, id: FileId) -> anyhow::Result<()> {
        for variant in [Variant::Original, Variant::Thumbnail] {
            match self.store.delete(&variant.key(id)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}
