package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"
)

// keyBytes is the size of a generated cookie-signing key.
const keyBytes = 64

// RedisKey returns the signing key kept at key in Redis, generating it if
// none is there. SET NX makes every instance that races here agree on the
// first one written.
func RedisKey(ctx context.Context, pool *redis.Pool, key string) ([]byte, error) {
	conn, err := pool.GetContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Do("SET", key, securecookie.GenerateRandomKey(keyBytes), "NX"); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	k, err := redis.Bytes(conn.Do("GET", key))
	if err != nil {
		return nil, fmt.Errorf("redis: reading the cookie key: %w", err)
	}
	if len(k) < 32 {
		return nil, errors.New("redis: the stored cookie key is too short")
	}
	return k, nil
}

// FileKey returns the signing key kept in the file at path, generating it
// if the file does not exist. The key is written to a temporary file and
// hard-linked into place, which fails if another process got there first;
// then that process's key is read.
func FileKey(path string) ([]byte, error) {
	k, err := os.ReadFile(path)
	if err == nil {
		if len(k) < 32 {
			return nil, fmt.Errorf("cookie key in %s is too short", path)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, ".key-"+NewID())
	if err := WriteFileAtomic(tmp, securecookie.GenerateRandomKey(keyBytes)); err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return FileKey(path)
}
