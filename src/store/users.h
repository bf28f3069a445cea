/*
 * users.h - user accounts: the password hash a user logs in with.
 *
 * Design: the store keeps the argon2id hash string as it is given (the
 * hashing and verification live in serve/http/auth.c); a user without a
 * password has an empty hash. Users themselves come from the catalogue
 * (store/catalog.h); this module only reads and sets their credentials.
 *
 * Threads: a struct hv_db belongs to one thread at a time (see db.h).
 */
#ifndef HV_STORE_USERS_H
#define HV_STORE_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

/* Copy the hash string of user uid into hash (cap bytes; "" when no
 * password is set). HV_ENOTFOUND for an unknown user, HV_ECORRUPT when the
 * stored hash does not fit, HV_EINVAL for no buffer. */
int users_password_get(struct hv_db *db, int64_t uid, char *hash, size_t cap,
                       struct hv_err *err) HV_WARN_UNUSED;

/* Store hash as user uid's password hash; HV_EINVAL for an empty hash,
 * HV_ENOTFOUND for an unknown user. */
int users_password_set(struct hv_db *db, int64_t uid, const char *hash,
                       struct hv_err *err) HV_WARN_UNUSED;

#endif
