package piistore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// envelopeField is the JSON key that replaces the personal fields of an
// object in stored event data.
const envelopeField = "pii"

// envelope is the stored form of one person's fields of one object:
//
//	"pii": {"v":1, "sub":"<cardholder id>", "gen":1, "f":["id_number","name"], "n":"<nonce>", "ct":"<ciphertext>"}
//
// ct is AES-256-GCM under data key (sub, gen) of the JSON object holding
// the fields f. Its additional data binds it to the event id and type, the
// object's place in the event and the field list, so a ciphertext moved to
// another event or object does not decrypt.
type envelope struct {
	V       int      `json:"v"`
	Subject string   `json:"sub"`
	Gen     int      `json:"gen"`
	Fields  []string `json:"f"`
	Nonce   []byte   `json:"n"`
	CT      []byte   `json:"ct"`
}

const envelopeVersion = 1

func envelopeAAD(id uuid.UUID, eventType, path string, env *envelope) []byte {
	return []byte(strings.Join([]string{"cardledger/pii/v1", id.String(), eventType, path, env.Subject,
		strconv.Itoa(env.Gen), strings.Join(env.Fields, ",")}, "\x00"))
}

// personalFields returns the fields of obj that the rule names and that
// hold a non-empty value, in the rule's order.
func personalFields(obj map[string]json.RawMessage, names []string) []string {
	var out []string
	for _, f := range names {
		v, ok := obj[f]
		if !ok {
			continue
		}
		t := bytes.TrimSpace(v)
		if len(t) == 0 || bytes.Equal(t, []byte(`""`)) || bytes.Equal(t, []byte("null")) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// sealObject moves fields of obj into an envelope under key.
func sealObject(obj map[string]json.RawMessage, fields []string, subject string, wk writeKey,
	id uuid.UUID, eventType, path string) error {
	if _, ok := obj[envelopeField]; ok {
		return fmt.Errorf("%s already has a %q field", eventType, envelopeField)
	}
	plain := make(map[string]json.RawMessage, len(fields))
	for _, f := range fields {
		plain[f] = obj[f]
		delete(obj, f)
	}
	pt, err := json.Marshal(plain)
	if err != nil {
		return err
	}
	env := &envelope{V: envelopeVersion, Subject: subject, Gen: wk.gen, Fields: fields}
	sealed, err := sealBytes(wk.key, pt, envelopeAAD(id, eventType, path, env))
	if err != nil {
		return err
	}
	env.Nonce, env.CT = sealed[:12], sealed[12:]
	raw, err := json.Marshal(env)
	if err != nil {
		return err
	}
	obj[envelopeField] = raw
	return nil
}

// parseEnvelope reads and checks the envelope of obj (ok false: none).
func parseEnvelope(obj map[string]json.RawMessage) (*envelope, bool, error) {
	raw, ok := obj[envelopeField]
	if !ok {
		return nil, false, nil
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, true, fmt.Errorf("%w: envelope: %v", ErrCorrupt, err)
	}
	switch {
	case env.V != envelopeVersion:
		return nil, true, fmt.Errorf("%w: envelope version %d", ErrCorrupt, env.V)
	case env.Subject == "" || env.Gen < 1:
		return nil, true, fmt.Errorf("%w: envelope names no data key", ErrCorrupt)
	case len(env.Fields) == 0 || len(env.Nonce) != 12 || len(env.CT) < 16:
		return nil, true, fmt.Errorf("%w: envelope without fields, nonce or ciphertext", ErrCorrupt)
	}
	for i, f := range env.Fields {
		if f == "" || f == envelopeField || strings.Contains(f, ",") || slices.Contains(env.Fields[:i], f) {
			return nil, true, fmt.Errorf("%w: envelope field list", ErrCorrupt)
		}
		if _, clash := obj[f]; clash {
			return nil, true, fmt.Errorf("%w: field %q both sealed and in clear", ErrCorrupt, f)
		}
	}
	return &env, true, nil
}

// openObject puts the envelope's fields back into obj: decrypted under key,
// or ErasedMarker for each when erased.
func openObject(obj map[string]json.RawMessage, env *envelope, key []byte, erased bool,
	id uuid.UUID, eventType, path string) error {
	delete(obj, envelopeField)
	if erased {
		for _, f := range env.Fields {
			obj[f] = erasedJSON
		}
		return nil
	}
	sealed := append(append(make([]byte, 0, len(env.Nonce)+len(env.CT)), env.Nonce...), env.CT...)
	pt, err := openBytes(key, sealed, envelopeAAD(id, eventType, path, env))
	if err != nil {
		return fmt.Errorf("%w: ciphertext does not decrypt", ErrCorrupt)
	}
	var plain map[string]json.RawMessage
	if err := json.Unmarshal(pt, &plain); err != nil || len(plain) != len(env.Fields) {
		return fmt.Errorf("%w: decrypted fields do not match the envelope", ErrCorrupt)
	}
	for _, f := range env.Fields {
		v, ok := plain[f]
		if !ok {
			return fmt.Errorf("%w: decrypted fields do not match the envelope", ErrCorrupt)
		}
		obj[f] = v
	}
	return nil
}
