// Package simulate plays the bank and the card vendor: given an export file
// it writes the return file that party would send, so the whole batch
// round-trip runs on one machine.
//
// Output is a pure function of (export bytes, fail rate, seed): whether a
// line fails is decided by a hash of the seed and the line's application id,
// not by the order of lines, so the same person fails the same way in every
// run with the same seed.
package simulate

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
)

// Options tune a simulated party.
type Options struct {
	FailRate float64 // share of lines refused or failed, 0..1
	Seed     int64
}

var (
	bankRefusals    = []string{"身份信息核验不通过", "客户已在本行开立社保卡账户", "证件已过期"}
	vendorFailures  = []string{"芯片个人化失败", "照片质量不合格", "卡面印刷缺陷"}
	bankDataRefusal = []string{"账户状态异常", "卡号与账户不符"}
)

// Bank answers a bank account-opening file (预开户数据) or a bank data file
// (银行数据) with its return.
func Bank(export []byte, o Options) ([]byte, error) {
	f, err := files.Parse(export)
	if err != nil {
		return nil, err
	}
	out := &files.File{BatchID: f.BatchID, CreatedOn: f.CreatedOn}
	switch f.Kind {
	case domain.FileBankOpen:
		out.Kind = domain.FileBankOpenReturn
		for _, r := range f.Records {
			app, id := r[0], r[1]
			h := digest(o.Seed, "bank_open", app)
			if fails(h, o.FailRate) {
				out.Records = append(out.Records, []string{app, id, files.ResultFailed, "", pick(h, bankRefusals)})
				continue
			}
			out.Records = append(out.Records, []string{app, id, files.ResultOK, accountNo(h), ""})
		}
	case domain.FileBankData:
		out.Kind = domain.FileBankDataReturn
		for _, r := range f.Records {
			app, cardNo, id := r[0], r[1], r[2]
			h := digest(o.Seed, "bank_data", app)
			if fails(h, o.FailRate) {
				out.Records = append(out.Records, []string{app, cardNo, id, files.ResultFailed, pick(h, bankDataRefusal)})
				continue
			}
			out.Records = append(out.Records, []string{app, cardNo, id, files.ResultOK, ""})
		}
	default:
		return nil, fmt.Errorf("simulate bank: a bank does not answer a %s file", f.Kind)
	}
	return out.Encode()
}

// Vendor answers a production file (制卡数据) with its return (制卡回盘).
func Vendor(export []byte, o Options) ([]byte, error) {
	f, err := files.Parse(export)
	if err != nil {
		return nil, err
	}
	if f.Kind != domain.FileProduction {
		return nil, fmt.Errorf("simulate vendor: a card vendor does not answer a %s file", f.Kind)
	}
	out := &files.File{Kind: domain.FileProductionReturn, BatchID: f.BatchID, CreatedOn: f.CreatedOn}
	for _, r := range f.Records {
		app, cardNo, id := r[0], r[1], r[2]
		h := digest(o.Seed, "production", app)
		if fails(h, o.FailRate) {
			out.Records = append(out.Records, []string{app, cardNo, id, files.ResultFailed, "", pick(h, vendorFailures)})
			continue
		}
		chip := sha256.Sum256(append(h[:], cardNo...))
		out.Records = append(out.Records, []string{app, cardNo, id, files.ResultOK, upperHex(chip[:16]), ""})
	}
	return out.Encode()
}

func digest(seed int64, kind, app string) [32]byte {
	return sha256.Sum256([]byte(strconv.FormatInt(seed, 10) + "|" + kind + "|" + app))
}

// fails maps the first 8 bytes of h to [0,1) and compares with rate.
func fails(h [32]byte, rate float64) bool {
	u := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	return u < rate
}

func pick(h [32]byte, reasons []string) string { return reasons[int(h[8])%len(reasons)] }

// accountNo is a 19-digit bank card account number starting 621.
func accountNo(h [32]byte) string {
	n := binary.BigEndian.Uint64(h[16:24]) % 1e16
	return fmt.Sprintf("621%016d", n)
}

func upperHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
