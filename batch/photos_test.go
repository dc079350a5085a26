package batch

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/photos"
	"github.com/cardledger/cardledger/photos/phototest"
)

// The production file carries what the vendor prints: the member's stored
// photo, base64, beside its content address; a batch file's free-text
// reference comes with no image.
func TestProductionFileCarriesThePhoto(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, piistore.Migrate(ctx, e.pool))
	master, err := piistore.NewMasterKey(make([]byte, piistore.MasterKeySize))
	require.NoError(t, err)
	keys, err := piistore.NewKeyring(e.pool, master, nil, piistore.KeyringOptions{})
	require.NoError(t, err)
	store := photos.NewStore(keys, photos.CardSpec)
	s, err := New(Deps{Store: e.store, Pool: e.pool, Commands: e.cmds, IDKey: testIDKey, Clock: testClock,
		Actor: domain.Actor{Client: "batch-test"}, Photos: store})
	require.NoError(t, err)

	env := func() commands.Envelope { return commands.NewEnvelope(domain.Actor{Client: "counter"}, "test") }
	image := phototest.JPEG(358, 441, 5)
	var withPhoto, without string
	for i, row := range people(2, 0) {
		res, err := e.cmds.Register.Handle(ctx, commands.Register{Envelope: env(), Cardholder: domain.RegisterCardholder{
			IDNumber: row.IDNumber, Name: row.Name, Nationality: "CHN", RegionCode: row.RegionCode}})
		require.NoError(t, err)
		holder, ref := res.CardholderID, row.PhotoRef
		if i == 0 {
			p, err := store.Put(ctx, holder, image, domain.PhotoFromCounter)
			require.NoError(t, err)
			_, err = e.cmds.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: env(), CardholderID: holder,
				Command: domain.CollectPhoto{Photo: p}})
			require.NoError(t, err)
			ref, withPhoto = "", holder // the current photo
		} else {
			without = holder
		}
		_, err = e.cmds.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: env(), CardholderID: holder,
			Command: domain.ApplyForCard{ApplicationID: row.IDNumber, Source: domain.SourceBatch, BankCode: "ICBC", PhotoRef: ref}})
		require.NoError(t, err)
	}
	_, err = s.CreateBatch(ctx, "P1", domain.BatchFilter{RegionCode: "320505"})
	require.NoError(t, err)
	mustDo(t, func() error { _, err := s.Review(ctx, "P1", "reviewer-1", ""); return err })
	mustDo(t, func() error { _, err := s.Confirm(ctx, "P1", "chief-1"); return err })
	ret, err := simulate.Bank(export(t, s, "P1", domain.FileBankOpen), simulate.Options{})
	require.NoError(t, err)
	importReturn(t, s, ret)

	data := export(t, s, "P1", domain.FileProduction)
	f, err := files.Parse(data)
	require.NoError(t, err)
	require.Len(t, f.Records, 2)
	members, err := s.Members(ctx, "P1", "")
	require.NoError(t, err)
	photoCol := len(files.Columns[domain.FileProduction]) - 1
	for _, m := range members {
		for _, r := range f.Records {
			if r[0] != m.ApplicationID {
				continue
			}
			switch m.CardholderID {
			case withPhoto:
				require.Equal(t, "sha256:"+piistore.BlobAddress(image), r[photoCol-1])
				require.Equal(t, base64.StdEncoding.EncodeToString(image), r[photoCol])
			case without:
				require.Equal(t, "photo/00001.jpg", r[photoCol-1])
				require.Empty(t, r[photoCol])
			}
		}
	}
	_, err = simulate.Vendor(data, simulate.Options{})
	require.NoError(t, err, "the vendor reads the file")
}
