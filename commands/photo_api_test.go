package commands_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/identity"
	_ "github.com/cardledger/cardledger/internal/httpapi/openapitest"
	"github.com/cardledger/cardledger/photos"
	"github.com/cardledger/cardledger/photos/phototest"
)

// withPhotos seals the store's personal data (piistore, as serve does) and
// stores photos under the same keys; with a simulator, the police check
// is on, over HTTP, with a short timeout.
func withPhotos(sim *identity.Simulator) envOption {
	var keys *piistore.Keyring
	return envOption{
		wrap: func(t *testing.T, store eventstore.Store, pool *pgxpool.Pool) eventstore.Store {
			ctx := context.Background()
			require.NoError(t, piistore.Migrate(ctx, pool))
			master, err := piistore.NewMasterKey(make([]byte, piistore.MasterKeySize))
			require.NoError(t, err)
			keys, err = piistore.NewKeyring(pool, master, nil, piistore.KeyringOptions{})
			require.NoError(t, err)
			return piistore.New(store, keys)
		},
		configure: func(api *commands.API) {
			api.WithPhotos(photos.NewStore(keys, photos.CardSpec))
			if sim == nil {
				return
			}
			srv := httptest.NewServer(sim)
			client, err := identity.NewClient(srv.URL, 500*time.Millisecond)
			if err != nil {
				panic(err)
			}
			api.WithIdentity(client)
			// Closed by the process end: env's own cleanups close the API first.
		},
	}
}

func (e *env) blobRows(holder string) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM pii_blobs WHERE subject = $1`, holder).Scan(&n))
	return n
}

func (e *env) uploadPhoto(holder string, image []byte) response {
	e.t.Helper()
	return e.do(http.MethodPost, "/v1/cardholders/"+holder+"/photo", keyCounter, map[string]any{"image": image})
}

// cardAppliedPhoto is the photo_ref of the holder's last CardApplied.
func (e *env) cardAppliedPhoto(holder string) string {
	e.t.Helper()
	h, _ := e.history("/v1/cardholders/" + holder + "/history")
	ref := "(no CardApplied)"
	for _, ev := range h.Events {
		if ev.Type == "CardApplied" {
			var d struct {
				PhotoRef string `json:"photo_ref"`
			}
			require.NoError(e.t, json.Unmarshal(ev.Data, &d))
			ref = d.PhotoRef
		}
	}
	return ref
}

func TestRegistrationIsCheckedWithThePolice(t *testing.T) {
	sim := identity.NewSimulator(
		identity.Person{IDNumber: idNumber(1), Name: "测试1"},
		identity.Person{IDNumber: idNumber(2), Name: "别人"},
		identity.Person{IDNumber: idNumber(5), Name: "测试5"},
	)
	e := newEnv(t, withPhotos(sim))

	// Match: registered with the police photo, which the counter can fetch.
	r := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(1))
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	cmd := r.command(t)
	require.Equal(t, []string{"CardholderRegistered", "PhotoCollected"}, cmd.Events)
	r = e.do(http.MethodGet, "/v1/cardholders/"+cmd.CardholderID+"/photo", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, "image/jpeg", r.Header.Get("Content-Type"))
	require.Equal(t, identity.SyntheticPhoto(idNumber(1)), r.Body)
	require.Equal(t, `"sha256:`+piistore.BlobAddress(r.Body)+`"`, r.Header.Get("ETag"))

	// Refusals and failures: each its own code, nothing recorded.
	refused := func(n int, status int, code string) {
		t.Helper()
		holder := domain.CardholderIDFor(testIDKey, idNumber(n))
		r := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(n))
		require.Equal(t, status, r.Status, string(r.Body))
		require.Equal(t, code, r.problem(t).Code)
		require.Zero(t, e.streamLen(holder), "a refused registration recorded events")
		require.Zero(t, e.blobRows(holder), "a refused registration stored a photo")
	}
	refused(2, http.StatusUnprocessableEntity, commands.CodePoliceIdentityMismatch)
	refused(3, http.StatusUnprocessableEntity, commands.CodePoliceIdentityNotFound)
	sim.SetFault(identity.FaultUnavailable)
	refused(5, http.StatusServiceUnavailable, commands.CodePoliceUnavailable)
	sim.SetFault(identity.FaultGarbage)
	refused(5, http.StatusBadGateway, commands.CodePoliceBadAnswer)
	sim.SetFault(identity.FaultSlow)
	refused(5, http.StatusGatewayTimeout, commands.CodePoliceTimeout)
	sim.SetFault(identity.FaultNone)
	require.Equal(t, http.StatusCreated, e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(5)).Status)

	// The body's own mistakes come first, without asking the police.
	sim.SetFault(identity.FaultUnavailable)
	bad := registerBody(1)
	bad["name"] = ""
	r = e.do(http.MethodPost, "/v1/cardholders", keyCounter, bad)
	require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
}

func TestCounterApplicationIsCheckedWithThePolice(t *testing.T) {
	sim := identity.NewSimulator(
		identity.Person{IDNumber: idNumber(1), Name: "测试1"},
		identity.Person{IDNumber: idNumber(2), Name: "测试2", Photo: []byte{}}, // the police have no photo of 2
	)
	e := newEnv(t, withPhotos(sim))
	one, two := e.register(1), e.register(2)
	require.Equal(t, 0, e.blobRows(two))

	// The police now hold another name for 1: the counter's application
	// is refused, the bank's is not checked.
	sim.Add(identity.Person{IDNumber: idNumber(1), Name: "测试一"})
	before := e.streamLen(one)
	r := e.do(http.MethodPost, "/v1/cardholders/"+one+"/applications", keyCounter, map[string]string{"source": "counter", "bank_code": "102"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
	require.Equal(t, commands.CodePoliceIdentityMismatch, r.problem(t).Code)
	require.Equal(t, before, e.streamLen(one))
	r = e.do(http.MethodPost, "/v1/cardholders/"+one+"/applications", keyBank, map[string]string{"source": "bank"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, "sha256:"+piistore.BlobAddress(identity.SyntheticPhoto(idNumber(1))), e.cardAppliedPhoto(one),
		"the application carries the registration's photo")

	// 2 has no photo; once the police have one, the counter application takes it.
	sim.Add(identity.Person{IDNumber: idNumber(2), Name: "测试2"})
	r = e.do(http.MethodPost, "/v1/cardholders/"+two+"/applications", keyCounter, map[string]string{"source": "counter", "bank_code": "102"},
		"If-Match", `"0"`)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, []string{"CardholderRegistered", "PhotoCollected", "CardApplied"}, types(must(e.history("/v1/cardholders/"+two+"/history"))))
	require.Equal(t, "sha256:"+piistore.BlobAddress(identity.SyntheticPhoto(idNumber(2))), e.cardAppliedPhoto(two))
}

func must(h history, _ response) history { return h }

func TestPhotoUploadIsValidatedWithExactCodes(t *testing.T) {
	e := newEnv(t, withPhotos(nil))
	holder := e.register(1)
	r := e.do(http.MethodGet, "/v1/cardholders/"+holder+"/photo", keyCounter, nil)
	require.Equal(t, http.StatusNotFound, r.Status)
	require.Equal(t, commands.CodePhotoNotFound, r.problem(t).Code)

	for _, tc := range []struct {
		image []byte
		code  string
	}{
		{[]byte("GIF89a\x01\x00\x01\x00\x00\x00"), photos.CodeTypeUnsupported},
		{phototest.PNG(800, 1000, 1), photos.CodeTooLarge},
		{phototest.JPEG(441, 358, 1), photos.CodeBadDimensions},
		{[]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}, photos.CodeUnreadable},
	} {
		r := e.uploadPhoto(holder, tc.image)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, string(r.Body))
		p := r.problem(t)
		require.Equal(t, tc.code, p.Code)
		require.Equal(t, "image", p.Errors[0].Field)
	}
	require.Zero(t, e.blobRows(holder), "a refused image was stored")
	require.Equal(t, 1, e.streamLen(holder))

	img := phototest.JPEG(358, 441, 7)
	r = e.uploadPhoto(holder, img)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, []string{"PhotoCollected"}, r.command(t).Events)
	ref := "sha256:" + piistore.BlobAddress(img)
	for _, key := range []string{keyCounter, keyBank, keyAdmin} {
		r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/photo", key, nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, img, r.Body)
	}
	require.Equal(t, http.StatusForbidden, e.do(http.MethodGet, "/v1/cardholders/"+holder+"/photo", keyAuditor, nil).Status)
	require.Equal(t, http.StatusNotFound, e.uploadPhoto(domain.CardholderIDFor(testIDKey, idNumber(9)), img).Status)

	// A free-text reference is refused; left out, the current photo is taken.
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/applications", keyCounter,
		map[string]string{"source": "counter", "bank_code": "102", "photo_ref": "photos/2026/abc.jpg"})
	require.Equal(t, http.StatusConflict, r.Status, string(r.Body))
	require.Equal(t, domain.CodePhotoNotCollected, r.problem(t).Code)
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/applications", keyCounter, map[string]string{"source": "counter", "bank_code": "102"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	require.Equal(t, ref, e.cardAppliedPhoto(holder))

	// Erased with the person: not served, not stored.
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/erasure", keyAdmin, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/photo", keyCounter, nil)
	require.Equal(t, http.StatusGone, r.Status, string(r.Body))
	require.Equal(t, commands.CodePhotoErased, r.problem(t).Code)
	require.Zero(t, e.blobRows(holder))
}

// An ID-number change carries the photo to the new stream, sealed under
// the new identity's key, and the replacement card is applied with it.
func TestIDNumberChangeCarriesThePhoto(t *testing.T) {
	e := newEnv(t, withPhotos(nil))
	old := e.register(1)
	img := phototest.JPEG(358, 441, 9)
	require.Equal(t, http.StatusCreated, e.uploadPhoto(old, img).Status)
	r := e.do(http.MethodPost, "/v1/cardholders/"+old+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, "/v1/cardholders/"+old+"/id-number-change", keyCounter,
		map[string]string{"new_id_number": idNumber(7), "reason": "number corrected by the police"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	moved := r.command(t)
	require.Equal(t, []string{"IdentityMovedIn", "CardholderRegistered", "PhotoCollected", "CardApplied"}, moved.Events)
	require.Equal(t, "sha256:"+piistore.BlobAddress(img), e.cardAppliedPhoto(moved.CardholderID))
	r = e.do(http.MethodGet, "/v1/cardholders/"+moved.CardholderID+"/photo", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.Equal(t, img, r.Body)
	require.Equal(t, 1, e.blobRows(moved.CardholderID))
}

// Erasing a person whose ID number changed reaches every stream of the
// chain in one call, addressed by the old number's id or the new one's:
// both profiles read as erased, both stored photos are gone (410), and a
// repeat is already_erased. The reads name the other stream.
func TestErasureReachesEveryStreamOfAnIDNumberChange(t *testing.T) {
	e := newEnv(t, withPhotos(nil))
	move := func(n, to int) (old, moved string) {
		old = e.register(n)
		require.Equal(t, http.StatusCreated, e.uploadPhoto(old, phototest.JPEG(358, 441, byte(n))).Status)
		r := e.do(http.MethodPost, "/v1/cardholders/"+old+"/instant-issuance", keyBank, instantIssueBody())
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = e.do(http.MethodPost, "/v1/cardholders/"+old+"/id-number-change", keyCounter,
			map[string]string{"new_id_number": idNumber(to), "reason": "number corrected by the police"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		moved = r.command(t).CardholderID
		require.Equal(t, 1, e.blobRows(old))
		require.Equal(t, 1, e.blobRows(moved))
		return old, moved
	}
	for _, tc := range []struct {
		name       string
		from, to   int
		eraseNewer bool
	}{{"addressed by the new number", 1, 7, true}, {"addressed by the old number", 2, 8, false}} {
		t.Run(tc.name, func(t *testing.T) {
			old, moved := move(tc.from, tc.to)
			assert.Equal(t, moved, e.state(old).MovedTo)
			assert.Equal(t, old, e.state(moved).MovedFrom)
			addressed, other := old, moved
			if tc.eraseNewer {
				addressed, other = moved, old
			}
			r := e.do(http.MethodPost, "/v1/cardholders/"+addressed+"/erasure", keyAdmin, nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			res := r.command(t)
			assert.Equal(t, addressed, res.CardholderID)
			assert.Equal(t, []string{"CardholderErased"}, res.Events)
			assert.Equal(t, []string{other}, res.LinkedCardholders)
			for _, id := range []string{old, moved} {
				s := e.state(id)
				assert.True(t, s.Erased, id)
				assert.Equal(t, domain.ErasedMarker, s.Profile.Name, id)
				assert.Equal(t, domain.ErasedMarker, s.Profile.IDNumber, id)
				assert.Equal(t, 0, e.blobRows(id), "the photo of %s is gone with its key", id)
				refused(t, e.do(http.MethodGet, "/v1/cardholders/"+id+"/photo", keyCounter, nil), http.StatusGone, commands.CodePhotoErased)
			}
			refused(t, e.do(http.MethodPost, "/v1/cardholders/"+other+"/erasure", keyAdmin, nil), http.StatusConflict, domain.CodeAlreadyErased)
		})
	}
}
