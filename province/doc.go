// Package province is the provincial card database (省持卡库) over HTTP:
// Client, the adapter of the application layer's commands.Province port,
// and Simulator, the province's side as `cardledger simulate province`
// serves it (and the tests run it). The wire protocol is in
// docs/province.md; both sides here speak exactly that.
//
// The client never guesses: an answer it cannot read completely — no
// answer within the timeout, a 5xx, a body that is not the documented JSON,
// a record with an invalid card number or status — is
// commands.ErrProvinceUnavailable, so the command that asked records
// nothing and can be retried. A 4xx with the documented problem body is a
// *commands.ProvinceRefusal carrying the province's code.
package province
