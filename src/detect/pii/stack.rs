//! A fixed-capacity vector on the stack, for the few spans a recognizer collects per value
//! (no allocation on the hot path).

/// Up to `N` values of `T`; pushes past `N` are dropped.
#[derive(Clone, Debug)]
pub(crate) struct StackVec<T: Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Default, const N: usize> Default for StackVec<T, N> {
    fn default() -> Self {
        StackVec {
            items: std::array::from_fn(|_| T::default()),
            len: 0,
        }
    }
}

impl<T: Default, const N: usize> StackVec<T, N> {
    /// Appends `x` if there is room; whether it was kept.
    pub(crate) fn push(&mut self, x: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = x;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Forgets the values (they stay in place until overwritten).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

impl<T: Default, const N: usize> std::ops::Deref for StackVec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::StackVec;

    #[test]
    fn keeps_the_first_n_and_drops_the_rest() {
        let mut v: StackVec<u8, 2> = StackVec::default();
        assert!(v.is_empty());
        assert!(v.push(1) && v.push(2));
        assert!(!v.push(3));
        assert_eq!(&*v, &[1, 2]);
        assert_eq!(v.last(), Some(&2));
        v.clear();
        assert!(v.is_empty() && v.push(4));
        assert_eq!(&*v, &[4]);
    }
}
