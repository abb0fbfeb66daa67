-- CreateTable
CREATE TABLE "Tenant" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "slug" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Secret" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "purpose" TEXT NOT NULL,
    "masterKeyId" TEXT NOT NULL,
    "envelope" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "EmbeddedChain" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "chainId" INTEGER NOT NULL,
    "genesisTimestamp" BIGINT NOT NULL,
    "genesisHash" TEXT NOT NULL,
    "registryAddress" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ChainBlock" (
    "number" BIGINT NOT NULL PRIMARY KEY,
    "hash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,
    "journaledAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ChainTransaction" (
    "blockNumber" BIGINT NOT NULL,
    "index" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "raw" BLOB NOT NULL,

    PRIMARY KEY ("blockNumber", "index"),
    CONSTRAINT "ChainTransaction_blockNumber_fkey" FOREIGN KEY ("blockNumber") REFERENCES "ChainBlock" ("number") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_slug_key" ON "Tenant"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "Secret_purpose_key" ON "Secret"("purpose");

-- CreateIndex
CREATE UNIQUE INDEX "ChainBlock_hash_key" ON "ChainBlock"("hash");

-- CreateIndex
CREATE UNIQUE INDEX "ChainTransaction_hash_key" ON "ChainTransaction"("hash");
