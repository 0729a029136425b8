//! Foundation: a store of values in reused places, for buffers that hold large values while
//! an index (a heap, a tree) orders them: the index moves small place numbers, not the values,
//! and a freed place is reused instead of an allocation and a free per value.

/// Places in one chunk: chunks are never moved, so growing never copies the values held.
const CHUNK: usize = 256;

/// Values in numbered places (`None` while free), in chunks of [`CHUNK`].
pub(crate) struct Slab<T> {
    chunks: Vec<Box<[Option<T>]>>,
    /// Free places, the lowest last (taken first).
    free: Vec<usize>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Puts `v` in a free place (a new chunk when none is free); returns where.
    pub(crate) fn insert(&mut self, v: T) -> usize {
        if self.free.is_empty() {
            let start = self.chunks.len() * CHUNK;
            self.chunks
                .push(std::iter::repeat_with(|| None).take(CHUNK).collect());
            self.free.extend((start..start + CHUNK).rev());
        }
        // Not empty: refilled just above.
        let at = self.free.pop().unwrap_or_default();
        if let Some(place) = self.place(at) {
            *place = Some(v);
        }
        at
    }

    /// The value at `at`, if one is there.
    pub(crate) fn get(&self, at: usize) -> Option<&T> {
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)?.as_ref()
    }

    /// The value at `at` to change, if one is there.
    pub(crate) fn get_mut(&mut self, at: usize) -> Option<&mut T> {
        self.place(at)?.as_mut()
    }

    /// Takes the value out of `at` (moved once) and frees the place.
    pub(crate) fn take(&mut self, at: usize) -> Option<T> {
        let v = self.place(at)?.take()?;
        self.free.push(at);
        Some(v)
    }

    fn place(&mut self, at: usize) -> Option<&mut Option<T>> {
        self.chunks.get_mut(at / CHUNK)?.get_mut(at % CHUNK)
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    /// Places are reused lowest first, values come back whole, and a freed or unknown place
    /// gives nothing, across chunk boundaries.
    #[test]
    fn places_are_reused_and_values_kept() {
        let mut s = Slab::default();
        let places: Vec<usize> = (0..600).map(|i| s.insert(i)).collect();
        assert_eq!(places, (0..600).collect::<Vec<_>>());
        assert_eq!(s.get(257), Some(&257));
        assert_eq!(s.take(257), Some(257));
        assert_eq!(s.take(257), None);
        assert_eq!(s.get(257), None);
        assert_eq!(s.take(3), Some(3));
        assert_eq!(s.insert(1000), 3);
        assert_eq!(s.insert(1001), 257);
        assert_eq!(s.get(3), Some(&1000));
        assert_eq!(s.get(100_000), None);
        assert_eq!(s.take(100_000), None);
    }
}
