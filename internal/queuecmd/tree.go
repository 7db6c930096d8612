package queuecmd

import "github.com/exigo-mta/exigo/internal/spool"

// # Adding to the non-recipients tree
//
// Exim keeps delivered addresses in an AVL tree compared byte by byte and
// writes it to the -H file in pre-order (chapter "Format of spool
// files"). When it reads the tree back it keeps the shape; the balance
// of each node is taken from which children it has (only a left child:
// left-heavy; only a right: right-heavy; else balanced), and new
// addresses are then inserted with AVL rotations. Found by running Exim
// 4.96's -Mmd one address at a time; the -H files then match Exim's byte
// for byte.

type avlNode struct {
	addr        string
	left, right *avlNode
	bal         int // height(right) - height(left), in -1..1
}

// buildAVL rebuilds the tree from its pre-order lines with an explicit
// stack (the input is a file: no recursion on its depth).
func buildAVL(nodes []spool.TreeNode) *avlNode {
	if len(nodes) == 0 {
		return nil
	}
	type frame struct {
		n        *avlNode
		wantLeft bool
		wantRt   bool
	}
	mk := func(t spool.TreeNode) *avlNode {
		n := &avlNode{addr: t.Address}
		switch {
		case t.Left && !t.Right:
			n.bal = -1
		case t.Right && !t.Left:
			n.bal = 1
		}
		return n
	}
	root := mk(nodes[0])
	stack := []frame{{root, nodes[0].Left, nodes[0].Right}}
	for _, t := range nodes[1:] {
		for len(stack) > 0 && !stack[len(stack)-1].wantLeft && !stack[len(stack)-1].wantRt {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			break
		}
		top := &stack[len(stack)-1]
		n := mk(t)
		if top.wantLeft {
			top.n.left, top.wantLeft = n, false
		} else {
			top.n.right, top.wantRt = n, false
		}
		stack = append(stack, frame{n, t.Left, t.Right})
	}
	return root
}

// avlInsert adds addr to the tree rooted at *root unless present. The
// tree's height is logarithmic in its size, so the recursion is bounded
// by the number of addresses the caller inserts, not by the file.
func avlInsert(root **avlNode, addr string) (grew bool) {
	n := *root
	if n == nil {
		*root = &avlNode{addr: addr}
		return true
	}
	switch {
	case addr < n.addr:
		if !avlInsert(&n.left, addr) {
			return false
		}
		n.bal--
	case addr > n.addr:
		if !avlInsert(&n.right, addr) {
			return false
		}
		n.bal++
	default:
		return false
	}
	switch n.bal {
	case 0:
		return false
	case -1, 1:
		return true
	case -2:
		*root = rotateRightFix(n)
	case 2:
		*root = rotateLeftFix(n)
	}
	return false
}

func rotateRightFix(n *avlNode) *avlNode {
	l := n.left
	if l.bal <= 0 { // single rotation
		n.left, l.right = l.right, n
		n.bal, l.bal = 0, 0
		return l
	}
	lr := l.right // double rotation
	l.right, n.left = lr.left, lr.right
	lr.left, lr.right = l, n
	n.bal, l.bal = 0, 0
	if lr.bal == -1 {
		n.bal = 1
	} else if lr.bal == 1 {
		l.bal = -1
	}
	lr.bal = 0
	return lr
}

func rotateLeftFix(n *avlNode) *avlNode {
	r := n.right
	if r.bal >= 0 {
		n.right, r.left = r.left, n
		n.bal, r.bal = 0, 0
		return r
	}
	rl := r.left
	r.left, n.right = rl.right, rl.left
	rl.right, rl.left = r, n
	n.bal, r.bal = 0, 0
	if rl.bal == 1 {
		n.bal = -1
	} else if rl.bal == -1 {
		r.bal = 1
	}
	rl.bal = 0
	return rl
}

// preorder writes the tree back as -H lines.
func preorder(root *avlNode) []spool.TreeNode {
	var out []spool.TreeNode
	stack := []*avlNode{}
	if root != nil {
		stack = append(stack, root)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, spool.TreeNode{Address: n.addr, Left: n.left != nil, Right: n.right != nil})
		if n.right != nil {
			stack = append(stack, n.right)
		}
		if n.left != nil {
			stack = append(stack, n.left)
		}
	}
	return out
}

// addDelivered returns the tree with the addresses added in order.
// A tree deeper than maxTreeDepth (only a hand-made file has one) is
// first rebuilt balanced, which bounds avlInsert's recursion.
func addDelivered(tree []spool.TreeNode, addrs []string) []spool.TreeNode {
	if treeDepth(tree) > maxTreeDepth {
		tree = spool.BuildTree(spool.Addresses(tree))
	}
	root := buildAVL(tree)
	for _, a := range addrs {
		avlInsert(&root, a)
	}
	return preorder(root)
}

// maxTreeDepth bounds the depth of a tree read from a file.
const maxTreeDepth = 1000

// treeDepth returns the depth of a pre-order tree, iteratively.
func treeDepth(nodes []spool.TreeNode) int {
	type frame struct{ left, right bool }
	var stack []frame
	depth := 0
	for _, n := range nodes {
		for len(stack) > 0 && !stack[len(stack)-1].left && !stack[len(stack)-1].right {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.left {
				top.left = false
			} else {
				top.right = false
			}
		}
		stack = append(stack, frame{n.Left, n.Right})
		depth = max(depth, len(stack))
	}
	return depth
}
