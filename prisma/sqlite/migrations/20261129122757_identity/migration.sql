-- CreateTable
CREATE TABLE "Account" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "did" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "custody" TEXT NOT NULL DEFAULT 'managed',
    "status" TEXT NOT NULL DEFAULT 'active',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Account_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "LinkedDid" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "did" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "LinkedDid_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Identifier" (
    "did" TEXT NOT NULL PRIMARY KEY,
    "provider" TEXT NOT NULL,
    "alias" TEXT,
    "controllerKeyId" TEXT,
    "services" TEXT NOT NULL DEFAULT '[]',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ManagedKey" (
    "kid" TEXT NOT NULL PRIMARY KEY,
    "kms" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "publicKeyHex" TEXT NOT NULL,
    "meta" TEXT NOT NULL DEFAULT '{}',
    "identifierDid" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ManagedKey_identifierDid_fkey" FOREIGN KEY ("identifierDid") REFERENCES "Identifier" ("did") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "PrivateKey" (
    "alias" TEXT NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "masterKeyId" TEXT NOT NULL,
    "envelope" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "RelayerNonce" (
    "chainId" INTEGER NOT NULL,
    "address" TEXT NOT NULL,
    "nextNonce" BIGINT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("chainId", "address")
);

-- CreateTable
CREATE TABLE "ChainJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "idempotencyKey" TEXT NOT NULL,
    "tenantId" TEXT,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "chainId" INTEGER NOT NULL,
    "nonce" BIGINT,
    "txHash" TEXT,
    "rawTx" BLOB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastError" TEXT,
    "blockNumber" BIGINT,
    "confirmedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "Account_tenantId_idx" ON "Account"("tenantId");

-- CreateIndex
CREATE UNIQUE INDEX "Account_tenantId_did_key" ON "Account"("tenantId", "did");

-- CreateIndex
CREATE INDEX "LinkedDid_accountId_idx" ON "LinkedDid"("accountId");

-- CreateIndex
CREATE UNIQUE INDEX "LinkedDid_tenantId_did_key" ON "LinkedDid"("tenantId", "did");

-- CreateIndex
CREATE UNIQUE INDEX "Identifier_alias_key" ON "Identifier"("alias");

-- CreateIndex
CREATE INDEX "ManagedKey_identifierDid_idx" ON "ManagedKey"("identifierDid");

-- CreateIndex
CREATE UNIQUE INDEX "ChainJob_idempotencyKey_key" ON "ChainJob"("idempotencyKey");

-- CreateIndex
CREATE INDEX "ChainJob_status_nextAttemptAt_idx" ON "ChainJob"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "ChainJob_tenantId_idx" ON "ChainJob"("tenantId");
