-- CreateTable
CREATE TABLE "OidcPayload" (
    "tenantId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "grantId" TEXT,
    "userCode" TEXT,
    "uid" TEXT,
    "expiresAt" BIGINT,
    "consumedAt" BIGINT,
    "createdAt" BIGINT NOT NULL,

    PRIMARY KEY ("tenantId", "model", "id")
);

-- CreateTable
CREATE TABLE "OidcKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "use" TEXT NOT NULL,
    "alg" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "masterKeyId" TEXT NOT NULL,
    "envelope" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activatedAt" DATETIME,
    "retiredAt" DATETIME
);

-- CreateTable
CREATE TABLE "OidcLink" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "lineage" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "grantId" TEXT NOT NULL,
    "sessionUid" TEXT NOT NULL,
    "sid" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" DATETIME,
    "logoutPending" BOOLEAN NOT NULL DEFAULT false,
    "logoutAttempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME,
    "logoutError" TEXT
);

-- CreateTable
CREATE TABLE "IssuedCredential" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT,
    "subjectDid" TEXT,
    "type" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "jwt" TEXT NOT NULL,
    "passkeyId" TEXT,
    "audience" TEXT,
    "issuedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME
);

-- RedefineTables (edited: existing sessions start their own lineage, their public id)
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "publicId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "aal" INTEGER NOT NULL,
    "amr" TEXT NOT NULL,
    "factors" TEXT NOT NULL,
    "phr" BOOLEAN NOT NULL DEFAULT false,
    "phrh" BOOLEAN NOT NULL DEFAULT false,
    "passkeyId" TEXT,
    "authTime" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL,
    "idleExpiresAt" DATETIME NOT NULL,
    "absoluteExpiresAt" DATETIME NOT NULL,
    "mustEnrolPasskey" BOOLEAN NOT NULL DEFAULT false,
    "pendingRequirement" TEXT,
    "userAgent" TEXT,
    "ip" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" DATETIME,
    "endReason" TEXT,
    "lineage" TEXT NOT NULL,
    CONSTRAINT "Session_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Session" ("aal", "absoluteExpiresAt", "accountId", "amr", "authTime", "createdAt", "endReason", "endedAt", "factors", "id", "idleExpiresAt", "ip", "lastSeenAt", "mustEnrolPasskey", "passkeyId", "pendingRequirement", "phr", "phrh", "publicId", "tenantId", "userAgent", "lineage") SELECT "aal", "absoluteExpiresAt", "accountId", "amr", "authTime", "createdAt", "endReason", "endedAt", "factors", "id", "idleExpiresAt", "ip", "lastSeenAt", "mustEnrolPasskey", "passkeyId", "pendingRequirement", "phr", "phrh", "publicId", "tenantId", "userAgent", "publicId" FROM "Session";
DROP TABLE "Session";
ALTER TABLE "new_Session" RENAME TO "Session";
CREATE UNIQUE INDEX "Session_publicId_key" ON "Session"("publicId");
CREATE INDEX "Session_accountId_endedAt_idx" ON "Session"("accountId", "endedAt");
CREATE INDEX "Session_lineage_idx" ON "Session"("lineage");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "OidcPayload_tenantId_grantId_idx" ON "OidcPayload"("tenantId", "grantId");

-- CreateIndex
CREATE INDEX "OidcPayload_tenantId_model_uid_idx" ON "OidcPayload"("tenantId", "model", "uid");

-- CreateIndex
CREATE INDEX "OidcPayload_tenantId_model_userCode_idx" ON "OidcPayload"("tenantId", "model", "userCode");

-- CreateIndex
CREATE INDEX "OidcPayload_expiresAt_idx" ON "OidcPayload"("expiresAt");

-- CreateIndex
CREATE INDEX "OidcKey_tenantId_use_state_idx" ON "OidcKey"("tenantId", "use", "state");

-- CreateIndex
CREATE INDEX "OidcLink_lineage_idx" ON "OidcLink"("lineage");

-- CreateIndex
CREATE INDEX "OidcLink_accountId_idx" ON "OidcLink"("accountId");

-- CreateIndex
CREATE INDEX "OidcLink_logoutPending_nextAttemptAt_idx" ON "OidcLink"("logoutPending", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "OidcLink_tenantId_sessionUid_clientId_key" ON "OidcLink"("tenantId", "sessionUid", "clientId");

-- CreateIndex
CREATE INDEX "IssuedCredential_tenantId_accountId_idx" ON "IssuedCredential"("tenantId", "accountId");

-- CreateIndex
CREATE INDEX "IssuedCredential_passkeyId_idx" ON "IssuedCredential"("passkeyId");
