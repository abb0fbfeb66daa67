-- CreateTable
CREATE TABLE "Tenant" (
    "id" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Secret" (
    "id" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "masterKeyId" TEXT NOT NULL,
    "envelope" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Secret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EmbeddedChain" (
    "id" INTEGER NOT NULL,
    "chainId" INTEGER NOT NULL,
    "genesisTimestamp" BIGINT NOT NULL,
    "genesisHash" TEXT NOT NULL,
    "registryAddress" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EmbeddedChain_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChainBlock" (
    "number" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "timestamp" BIGINT NOT NULL,
    "journaledAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChainBlock_pkey" PRIMARY KEY ("number")
);

-- CreateTable
CREATE TABLE "ChainTransaction" (
    "blockNumber" BIGINT NOT NULL,
    "index" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "raw" BYTEA NOT NULL,

    CONSTRAINT "ChainTransaction_pkey" PRIMARY KEY ("blockNumber","index")
);

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_slug_key" ON "Tenant"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "Secret_purpose_key" ON "Secret"("purpose");

-- CreateIndex
CREATE UNIQUE INDEX "ChainBlock_hash_key" ON "ChainBlock"("hash");

-- CreateIndex
CREATE UNIQUE INDEX "ChainTransaction_hash_key" ON "ChainTransaction"("hash");

-- AddForeignKey
ALTER TABLE "ChainTransaction" ADD CONSTRAINT "ChainTransaction_blockNumber_fkey" FOREIGN KEY ("blockNumber") REFERENCES "ChainBlock"("number") ON DELETE CASCADE ON UPDATE CASCADE;
