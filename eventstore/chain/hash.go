package chain

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/google/uuid"
)

// Size is the length of a hash in bytes.
const Size = sha256.Size

// tag separates version-1 chain hashes from every other use of SHA-256.
const tag = "cardledger/chain/v1"

// Event is what a hash covers besides the previous hash.
type Event struct {
	Stream   string
	Revision uint64
	ID       uuid.UUID
	Type     string
	Data     []byte
	Metadata []byte
}

// Hash returns the chain hash of e following prev (nil or empty at
// revision 0). See the package doc for the exact bytes.
func Hash(prev []byte, e Event) []byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	h.Write([]byte(tag))
	field([]byte(e.Stream))
	binary.BigEndian.PutUint64(n[:], e.Revision)
	h.Write(n[:])
	h.Write(e.ID[:])
	field([]byte(e.Type))
	field(e.Data)
	field(e.Metadata)
	field(prev)
	return h.Sum(nil)
}
