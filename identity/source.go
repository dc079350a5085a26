// Package identity is the port to the identity source, the police
// population database (公安人口库, seed 001: "与公安系统之间的数据交换接口:
// 用于得到参保人员的基本信息和照片"): does a name belong to an ID number, and
// what is the person's photo. Client speaks its HTTP protocol; Simulator
// plays the police side (`cardledger simulate police`).
//
// The protocol (one call):
//
//	POST {base}/v1/identity/verifications
//	{"id_number":"…","name":"…"}
//	→ 200 {"result":"match","photo":"<base64 JPEG or PNG>"}
//	→ 200 {"result":"mismatch"}    the number is known, the name is not its
//	→ 200 {"result":"not_found"}   the number is not in the database
//
// Anything else is the source failing, each failure its own error so that
// callers answer distinctly: unreachable or 5xx (ErrUnavailable), no answer
// within the timeout (ErrTimeout), an answer that is not the protocol
// (ErrBadAnswer).
package identity

import (
	"context"
	"errors"
)

// Verdicts of the source about a person, and its failures.
var (
	ErrMismatch    = errors.New("identity source: the name does not belong to the ID number")
	ErrNotFound    = errors.New("identity source: the ID number is not in the population database")
	ErrUnavailable = errors.New("identity source unavailable")
	ErrTimeout     = errors.New("identity source did not answer in time")
	ErrBadAnswer   = errors.New("identity source answered outside its protocol")
)

// Source checks a person against the population database.
type Source interface {
	// Verify returns the person's photo (nil when the source has none)
	// when name belongs to idNumber; otherwise one of the errors above.
	Verify(ctx context.Context, idNumber, name string) (photo []byte, err error)
}

// Results of the protocol.
const (
	ResultMatch    = "match"
	ResultMismatch = "mismatch"
	ResultNotFound = "not_found"
)

type request struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
}

type answer struct {
	Result string `json:"result"`
	Photo  []byte `json:"photo,omitempty"`
}
