package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// The page graph check reads bbolt's file format itself (version 2, the
// one bbolt 1.x writes; little-endian, as on every platform Lintel runs
// on) before bbolt touches the file. bbolt trusts its pages: a page that
// points back at itself sends its cursors round in circles for ever, a
// child beyond the end of the file faults, and its own Tx.Check asserts
// (panics, in a goroutine of its own, so nothing can recover) on a
// damaged page header. Walking the graph once with a visited set and
// bounds checks refuses such a file with an error instead.

const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	pageHeaderSize   = 16
	elementSize      = 16 // branch and leaf elements alike
	bucketHeaderSize = 16
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)
	// maxPageGraph bounds the pages checked, so a damaged header cannot
	// make the check itself run away.
	maxPageGraph = 1 << 26
)

var (
	errPages  = errors.New("damaged page graph")
	errNoMeta = errors.New("no valid bbolt meta page")
)

// meta is what the check needs of a meta page.
type meta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64
	pgid     uint64 // pages in use: the high-water mark
	txid     uint64
}

// checkPages walks every page reachable from the newest valid meta page
// and checks that each lies within the file and pgid, is of the expected
// type, holds elements within its bounds, and is reached once.
func checkPages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	m, err := readMeta(f)
	if err != nil {
		return err
	}
	size := uint64(fi.Size())
	if m.pgid*uint64(m.pageSize) > size {
		return fmt.Errorf("%w: the file is %d bytes, its pages need %d: it was cut short", errPages, size, m.pgid*uint64(m.pageSize))
	}
	if m.pgid > maxPageGraph {
		return fmt.Errorf("%w: %d pages", errPages, m.pgid)
	}
	c := &pageChecker{f: f, m: m, seen: make(map[uint64]bool)}
	var free []byte
	if m.freelist != noFreelist {
		if free, err = c.page(m.freelist, freelistPageFlag); err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
	}
	if err := c.tree(m.root); err != nil {
		return err
	}
	return c.freePages(free)
}

// freePages checks that no page on the freelist is also in use: bbolt
// would hand it out for new data and overwrite what is there.
func (c *pageChecker) freePages(p []byte) error {
	if p == nil {
		return nil
	}
	le := binary.LittleEndian
	count, at := uint64(le.Uint16(p[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF { // the real count is in the first element
		if len(p) < pageHeaderSize+8 {
			return fmt.Errorf("%w: the freelist is cut short", errPages)
		}
		count, at = le.Uint64(p[pageHeaderSize:]), at+8
	}
	if count > (uint64(len(p))-at)/8 {
		return fmt.Errorf("%w: the freelist claims %d pages", errPages, count)
	}
	for i := range count {
		id := le.Uint64(p[at+8*i:])
		switch {
		case id < 2 || id >= c.m.pgid:
			return fmt.Errorf("%w: the freelist holds page %d, outside 2..%d", errPages, id, c.m.pgid-1)
		case c.seen[id]:
			return fmt.Errorf("%w: page %d is both in use and free", errPages, id)
		}
	}
	return nil
}

// readMeta returns the newer of the two meta pages whose checksum holds.
func readMeta(f *os.File) (meta, error) {
	var best meta
	found := false
	for _, off := range []int64{0, -1} {
		buf := make([]byte, pageHeaderSize+64)
		at := off
		if off < 0 {
			// The second meta page is at page 1, whose size the first
			// (or, failing that, a 4096-byte page) says.
			at = 4096
			if found {
				at = int64(best.pageSize)
			}
		}
		if _, err := f.ReadAt(buf, at); err != nil && !errors.Is(err, io.EOF) {
			return meta{}, err
		}
		b := buf[pageHeaderSize:]
		le := binary.LittleEndian
		if le.Uint32(b[0:]) != boltMagic || le.Uint32(b[4:]) != boltVersion {
			continue
		}
		h := fnv.New64a()
		h.Write(b[:56])
		if h.Sum64() != le.Uint64(b[56:]) {
			continue
		}
		m := meta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]), pgid: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
		if m.pageSize < 1024 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 {
			continue
		}
		if !found || m.txid > best.txid {
			best, found = m, true
		}
	}
	if !found {
		return meta{}, errNoMeta
	}
	return best, nil
}

type pageChecker struct {
	f    *os.File
	m    meta
	seen map[uint64]bool
}

// page reads page id and its overflow pages, checking its place, its type
// (one of flags) and that it was not reached before.
func (c *pageChecker) page(id uint64, flags uint16) ([]byte, error) {
	if id < 2 || id >= c.m.pgid {
		return nil, fmt.Errorf("%w: page %d is outside 2..%d", errPages, id, c.m.pgid-1)
	}
	if c.seen[id] {
		return nil, fmt.Errorf("%w: page %d is reached twice", errPages, id)
	}
	c.seen[id] = true
	ps := uint64(c.m.pageSize)
	head := make([]byte, pageHeaderSize)
	if _, err := c.f.ReadAt(head, int64(id*ps)); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if le.Uint64(head) != id {
		return nil, fmt.Errorf("%w: page %d says it is page %d", errPages, id, le.Uint64(head))
	}
	if le.Uint16(head[8:])&flags == 0 {
		return nil, fmt.Errorf("%w: page %d has type %#x", errPages, id, le.Uint16(head[8:]))
	}
	overflow := uint64(le.Uint32(head[12:]))
	if id+overflow >= c.m.pgid {
		return nil, fmt.Errorf("%w: page %d runs past the last page", errPages, id)
	}
	for o := id + 1; o <= id+overflow; o++ {
		if c.seen[o] {
			return nil, fmt.Errorf("%w: page %d is reached twice", errPages, o)
		}
		c.seen[o] = true
	}
	buf := make([]byte, (1+overflow)*ps)
	if _, err := c.f.ReadAt(buf, int64(id*ps)); err != nil {
		return nil, err
	}
	return buf, nil
}

// tree checks the B+tree of a bucket whose root is page id.
func (c *pageChecker) tree(id uint64) error {
	p, err := c.page(id, branchPageFlag|leafPageFlag)
	if err != nil {
		return err
	}
	return c.node(p)
}

// node checks the elements of a branch or leaf page (p holds the page and
// its overflow, or an inline bucket's page) and goes on to its children.
func (c *pageChecker) node(p []byte) error {
	le := binary.LittleEndian
	if len(p) < pageHeaderSize {
		return fmt.Errorf("%w: a page of %d bytes", errPages, len(p))
	}
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if pageHeaderSize+count*elementSize > len(p) {
		return fmt.Errorf("%w: page %d claims %d elements", errPages, le.Uint64(p), count)
	}
	if flags == branchPageFlag && count == 0 {
		// bbolt never writes one, and its cursors would read past it.
		return fmt.Errorf("%w: branch page %d is empty", errPages, le.Uint64(p))
	}
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := p[at : at+elementSize]
		switch flags {
		case branchPageFlag:
			pos, ksize := int(le.Uint32(e[0:])), int(le.Uint32(e[4:]))
			if at+pos+ksize > len(p) || pos < 0 {
				return fmt.Errorf("%w: page %d element %d lies outside it", errPages, le.Uint64(p), i)
			}
			if err := c.tree(le.Uint64(e[8:])); err != nil {
				return err
			}
		case leafPageFlag:
			eflags, pos, ksize, vsize := le.Uint32(e[0:]), int(le.Uint32(e[4:])), int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
			end := at + pos + ksize + vsize
			if end > len(p) || end < at {
				return fmt.Errorf("%w: page %d element %d lies outside it", errPages, le.Uint64(p), i)
			}
			if eflags&bucketLeafFlag == 0 {
				continue
			}
			v := p[at+pos+ksize : end]
			if len(v) < bucketHeaderSize {
				return fmt.Errorf("%w: page %d element %d: a bucket header of %d bytes", errPages, le.Uint64(p), i, len(v))
			}
			if root := le.Uint64(v); root != 0 {
				if err := c.tree(root); err != nil {
					return err
				}
			} else if err := c.inline(v[bucketHeaderSize:]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: page %d has type %#x", errPages, le.Uint64(p), flags)
		}
	}
	return nil
}

// inline checks the page of an inline bucket (one stored in its parent's
// value): bbolt writes only leaves there, and reads any other type as a
// leaf's page again and again.
func (c *pageChecker) inline(p []byte) error {
	if len(p) < pageHeaderSize || binary.LittleEndian.Uint16(p[8:]) != leafPageFlag {
		return fmt.Errorf("%w: an inline bucket's page is not a leaf", errPages)
	}
	return c.node(p)
}
