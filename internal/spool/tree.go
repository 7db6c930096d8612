package spool

import (
	"errors"
	"sort"
)

// # The non-recipients tree
//
// Spec chapter 57, section 1: the addresses not to deliver to are kept by
// Exim as a balanced binary tree and written in pre-order, each line
// "LR address" where L and R are Y or N for a left and a right subtree
// that follow. An empty tree is the single line "XX". Exim searches the
// tree comparing bytes, so a tree written for Exim must be ordered that way.

// ErrBadTree is returned for a node list that is not a complete pre-order
// tree.
var ErrBadTree = errors.New("malformed non-recipients tree")

// checkTree verifies that nodes form exactly one complete tree in
// pre-order. It uses a counter, not recursion, so depth is unbounded.
func checkTree(nodes []TreeNode) error {
	if len(nodes) == 0 {
		return nil
	}
	need := 1 // subtrees still to read
	for _, n := range nodes {
		if need == 0 {
			return ErrBadTree
		}
		need--
		if n.Left {
			need++
		}
		if n.Right {
			need++
		}
	}
	if need != 0 {
		return ErrBadTree
	}
	return nil
}

// BuildTree returns a balanced tree of the given addresses (duplicates
// dropped) in the pre-order form a -H file stores.
func BuildTree(addrs []string) []TreeNode {
	s := append([]string(nil), addrs...)
	sort.Strings(s)
	u := s[:0]
	for i, a := range s {
		if i == 0 || a != s[i-1] {
			u = append(u, a)
		}
	}
	out := make([]TreeNode, 0, len(u))
	// Depth is log2(len): recursion is bounded by the input size's log.
	var build func(lo, hi int)
	build = func(lo, hi int) {
		mid := (lo + hi) / 2
		n := TreeNode{Address: u[mid], Left: lo < mid, Right: mid+1 < hi}
		out = append(out, n)
		if n.Left {
			build(lo, mid)
		}
		if n.Right {
			build(mid+1, hi)
		}
	}
	if len(u) > 0 {
		build(0, len(u))
	}
	return out
}

// Addresses returns the addresses of a pre-order tree in sorted (in-order)
// order. It walks with an explicit stack, so a degenerate tree read from a
// file cannot exhaust the goroutine stack.
func Addresses(nodes []TreeNode) []string {
	out := make([]string, 0, len(nodes))
	// Each frame: index of a node whose left subtree is being read, and
	// whether it has a right subtree to visit after.
	type frame struct {
		node int
	}
	var stack []frame
	i := 0
	for i < len(nodes) {
		n := nodes[i]
		if n.Left {
			stack = append(stack, frame{i})
			i++
			continue
		}
		out = append(out, n.Address)
		i++
		if n.Right {
			continue
		}
		// Unwind: emit parents whose left subtree is finished.
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out = append(out, nodes[p.node].Address)
			if nodes[p.node].Right {
				break
			}
		}
	}
	return out
}

// Contains reports whether addr is in the tree.
func Contains(nodes []TreeNode, addr string) bool {
	for _, n := range nodes {
		if n.Address == addr {
			return true
		}
	}
	return false
}
