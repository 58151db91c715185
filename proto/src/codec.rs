//! The protobuf codec every generated client and server uses.
//!
//! It is prost's codec with smaller starting buffers. tonic's default gives
//! each stream an 8 KiB encode and an 8 KiB decode buffer up front; a server
//! holding tens of thousands of mostly idle device streams would spend most
//! of its memory on them. Frames here are small (a Web Push body is at most
//! 4 KiB), and a buffer still grows on demand when a frame needs it.

use std::marker::PhantomData;

use prost::Message;
use tonic::codec::{BufferSettings, Codec};
use tonic_prost::{ProstDecoder, ProstEncoder};

/// Starting size of a stream's encode and decode buffers.
const BUFFER_BYTES: usize = 512;
/// Encoded bytes a streaming response may buffer before yielding to the runtime.
const YIELD_THRESHOLD: usize = 32 * 1024;

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
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD))
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::new(BufferSettings::new(BUFFER_BYTES, YIELD_THRESHOLD))
    }
}
