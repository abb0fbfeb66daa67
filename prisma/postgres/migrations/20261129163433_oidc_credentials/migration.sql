-- AlterTable
-- Edited: existing sessions start their own lineage (their public id), then the column is required.
ALTER TABLE "Session" ADD COLUMN     "lineage" TEXT;
UPDATE "Session" SET "lineage" = "publicId";
ALTER TABLE "Session" ALTER COLUMN "lineage" SET NOT NULL;

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

    CONSTRAINT "OidcPayload_pkey" PRIMARY KEY ("tenantId","model","id")
);

-- CreateTable
CREATE TABLE "OidcKey" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "use" TEXT NOT NULL,
    "alg" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "masterKeyId" TEXT NOT NULL,
    "envelope" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activatedAt" TIMESTAMP(3),
    "retiredAt" TIMESTAMP(3),

    CONSTRAINT "OidcKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OidcLink" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "lineage" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "grantId" TEXT NOT NULL,
    "sessionUid" TEXT NOT NULL,
    "sid" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "logoutPending" BOOLEAN NOT NULL DEFAULT false,
    "logoutAttempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3),
    "logoutError" TEXT,

    CONSTRAINT "OidcLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IssuedCredential" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT,
    "subjectDid" TEXT,
    "type" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "jwt" TEXT NOT NULL,
    "passkeyId" TEXT,
    "audience" TEXT,
    "issuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),

    CONSTRAINT "IssuedCredential_pkey" PRIMARY KEY ("id")
);

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

-- CreateIndex
CREATE INDEX "Session_lineage_idx" ON "Session"("lineage");
