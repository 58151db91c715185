//! The protobuf codec every generated client and server uses.
//!
//! It is prost's codec with two changes:
//! - Smaller starting buffers. tonic's default gives each stream an 8 KiB
//!   encode and an 8 KiB decode buffer up front; a server holding tens of
//!   thousands of mostly idle device streams would spend most of its memory
//!   on them. Frames here are small (a Web Push body is at most 4 KiB), and
//!   a buffer still grows on demand when a frame needs it.
//! - Bytes that are not the expected message are `INVALID_ARGUMENT` naming
//!   that message, where prost's decoder answers `INTERNAL`: on a server
//!   that tells the caller it sent a bad request (and keeps `INTERNAL` for
//!   the server's own failures), for every service in one place. A client
//!   decoding a server's reply uses the same decoder, so a garbled reply
//!   (a broken server or proxy) is `INVALID_ARGUMENT` there too, with the
//!   message type saying which side's bytes were bad.

use std::marker::PhantomData;

use prost::{Message, Name};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

/// Starting size of a stream's encode and decode buffers.
const BUFFER_BYTES: usize = 512;
/// Encoded bytes a streaming response may buffer before yielding to the runtime.
const YIELD_THRESHOLD: usize = 32 * 1024;

fn buffer_settings() -> BufferSettings {
    BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD)
}

#[derive(Debug, Clone, Copy)]
pub struct PushCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for PushCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for PushCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = PushDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(buffer_settings())
    }

    fn decoder(&mut self) -> Self::Decoder {
        PushDecoder {
            _message: PhantomData,
        }
    }
}

/// Decodes one `U` per gRPC message; see the module doc for its errors.
#[derive(Debug)]
pub struct PushDecoder<U> {
    _message: PhantomData<U>,
}

impl<U: Message + Name + Default> Decoder for PushDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|error| {
            let name = U::full_name();
            Status::invalid_argument(format!(
                "the message is not a valid {name}: {error}; send {name} encoded as protobuf"
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        buffer_settings()
    }
}
