"""Scrapy spiders that fetch watched pages politely."""
